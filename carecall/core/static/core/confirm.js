// Confirmation before destructive actions, in a native <dialog>: focus moves into it (onto the
// safe choice), Escape cancels, and focus goes back where it was. The server stays the
// authority; this only asks first.
//
//   confirmDialog({ title, message, confirmLabel, cancelLabel, danger }) -> Promise<boolean>
//     Resolves true only for the confirm button; Cancel, Escape (or a second question while
//     one is open) resolve false.
//
//   <form data-confirm="message" data-confirm-title="…" data-confirm-button="Remove"> asks
//   before it submits (without JavaScript the form simply submits). Optional:
//     data-confirm-field="amount"   "%(value)s" in the title/message is that field's value
//     data-confirm-decimals="2"     …read as a number and shown with that many decimals; when
//                                   it is empty or not a number the form is sent unasked, so
//                                   the server says what is wrong (nothing happens yet)
//     data-confirm-cancel="reset"   Cancel also resets the form (a role <select> goes back)
//     data-confirm-danger="no"      the confirm button is not styled as dangerous

import { gettext } from "./i18n.js";

/** @type {Promise<boolean> | null} */
let open = null; // one question at a time
let made = 0; // ids for the dialogs' title and text

/**
 * @param {{ title: string, message?: string, confirmLabel?: string, cancelLabel?: string, danger?: boolean }} question
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ title, message = "", confirmLabel, cancelLabel, danger = false }) {
  if (open) return Promise.resolve(false);
  const returnTo = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const id = `confirm-dialog-${++made}`;
  const dialog = document.createElement("dialog");
  dialog.className = "confirm-dialog";
  const heading = document.createElement("h2");
  heading.id = `${id}-title`;
  heading.textContent = title;
  dialog.setAttribute("aria-labelledby", heading.id);
  dialog.append(heading);
  if (message) {
    const text = document.createElement("p");
    text.id = `${id}-text`;
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
  if (danger) confirm.className = "danger";
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
      if (returnTo && document.contains(returnTo)) returnTo.focus();
      resolve(answer);
    });
  });
  dialog.showModal();
  cancel.focus(); // the safe choice: Enter or Space right away changes nothing
  return open;
}

// The value data-confirm-field names, as the question should show it; null when it cannot be
// shown as asked (then the form goes to the server unasked and the server explains).
/**
 * @param {HTMLFormElement} form
 * @returns {string | null}
 */
function fieldValue(form) {
  const name = form.dataset.confirmField;
  if (!name) return "";
  const field = form.elements.namedItem(name);
  const raw = field && "value" in field ? String(field.value).trim() : "";
  if (form.dataset.confirmDecimals === undefined) return raw;
  const decimals = Number(form.dataset.confirmDecimals) || 0;
  const plain = raw.replace(/[\s,]/g, "");
  if (!/^\d+(\.\d+)?$/.test(plain)) return null;
  const lang = document.documentElement.lang || undefined;
  return Number(plain).toLocaleString(lang, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

// Forms that ask first. A confirmed form is submitted for real (requestSubmit keeps the
// submitter's name/value and the browser's own validation).
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !(form.dataset.confirm || form.dataset.confirmTitle)) return;
  if (form.dataset.confirmed === "yes") { delete form.dataset.confirmed; return; }
  const value = fieldValue(form);
  if (value === null) return;
  event.preventDefault();
  const pressed = event instanceof SubmitEvent ? event.submitter : null;
  const submitter = pressed instanceof HTMLButtonElement || pressed instanceof HTMLInputElement ? pressed : null;
  const said = (/** @type {string} */ text) => text.replace("%(value)s", value);
  const ok = await confirmDialog({
    title: said(form.dataset.confirmTitle || form.dataset.confirm || ""),
    message: form.dataset.confirmTitle ? said(form.dataset.confirm || "") : "",
    confirmLabel: form.dataset.confirmButton || (submitter && (submitter.textContent || "").trim()) || gettext("Confirm"),
    danger: form.dataset.confirmDanger !== "no",
  });
  if (!ok) {
    if (form.dataset.confirmCancel === "reset") form.reset();
    return;
  }
  form.dataset.confirmed = "yes";
  if (submitter && submitter.form === form) form.requestSubmit(submitter);
  else form.requestSubmit();
  // requestSubmit dispatches "submit" at once; if the browser's validation stopped it instead,
  // the next press must ask again.
  delete form.dataset.confirmed;
});
