// Copy buttons for links shown in a read-only field (the clinic's entry link): the clipboard
// when the browser allows it, else the text is selected for the user to copy.

import { one, say as sayIn } from "../core/dom.js";
import { gettext } from "../core/i18n.js";

for (const box of document.querySelectorAll("[data-copy-link]")) {
  const field = one(box, "[data-copy-source]", HTMLInputElement);
  const status = one(box, "[data-copy-status]");
  const say = (/** @type {string} */ text) => sayIn(status, text);
  one(box, "[data-copy-button]").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      say(gettext("Link copied"));
    } catch {
      field.focus();
      field.select();
      say(gettext("The link is selected: copy it with Ctrl+C (⌘C on a Mac)."));
    }
  });
}
