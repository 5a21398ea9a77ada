// Confirmation before destructive actions, in a native <dialog>: focus moves into it (onto the
// safe choice), Escape cancels, and focus goes back where it was. The server stays the
// authority; this only asks first.
//
//   confirmDialog({ title, message, confirmLabel, cancelLabel, danger }) -> Promise<boolean>
//   <form data-confirm="message" data-confirm-title="…" data-confirm-button="Remove"> asks
//   before it submits (without JavaScript the form simply submits).

import { gettext } from "./i18n.js";

let open = null; // one question at a time

export function confirmDialog({ title, message = "", confirmLabel, cancelLabel, danger = false }) {
  if (open) return Promise.resolve(false);
  const returnTo = document.activeElement;
  const dialog = document.createElement("dialog");
  dialog.className = "confirm-dialog";
  const heading = document.createElement("h2");
  heading.id = `confirm-${Date.now()}`;
  heading.textContent = title;
  dialog.setAttribute("aria-labelledby", heading.id);
  dialog.append(heading);
  if (message) {
    const text = document.createElement("p");
    text.id = `${heading.id}-text`;
    text.textContent = message;
    dialog.setAttribute("aria-describedby", text.id);
    dialog.append(text);
  }
  const actions = document.createElement("div");
  actions.className = "confirm-actions";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "secondary";
  cancel.textContent = cancelLabel || gettext("Cancel");
  const confirm = document.createElement("button");
  confirm.type = "button";
  confirm.className = danger ? "danger" : "";
  confirm.textContent = confirmLabel || gettext("Confirm");
  actions.append(cancel, confirm);
  dialog.append(actions);
  document.body.append(dialog);

  open = new Promise((resolve) => {
    let answer = false;
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", () => { answer = true; dialog.close(); });
    // Escape fires "cancel" and then "close": both end up here, answered no.
    dialog.addEventListener("close", () => {
      dialog.remove();
      open = null;
      if (returnTo && typeof returnTo.focus === "function" && document.contains(returnTo)) returnTo.focus();
      resolve(answer);
    });
  });
  dialog.showModal();
  cancel.focus();
  return open;
}

// Forms that ask first. A confirmed form is submitted for real (requestSubmit keeps the
// submitter's name/value and the browser's own validation).
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !(form.dataset.confirm || form.dataset.confirmTitle)) return;
  if (form.dataset.confirmed === "yes") { delete form.dataset.confirmed; return; }
  event.preventDefault();
  const submitter = event.submitter;
  // "%(value)s" in the message is the value of the field data-confirm-field names (the refund's
  // amount), so the question shows what will really happen.
  const field = form.dataset.confirmField && form.elements.namedItem(form.dataset.confirmField);
  const value = field && "value" in field ? String(field.value).trim() : "";
  const said = (text) => text.replace("%(value)s", value);
  const ok = await confirmDialog({
    title: said(form.dataset.confirmTitle || form.dataset.confirm),
    message: form.dataset.confirmTitle ? said(form.dataset.confirm) : "",
    confirmLabel: form.dataset.confirmButton || (submitter && submitter.textContent.trim()) || gettext("Confirm"),
    danger: true,
  });
  if (!ok) return;
  form.dataset.confirmed = "yes";
  if (submitter && submitter.form === form) form.requestSubmit(submitter);
  else form.requestSubmit();
});
