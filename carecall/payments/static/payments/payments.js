// Payments in the call: the clinician's Request payment panel, and the payer's Pay now.
// Amounts come from the server's record only; the browser never sends an amount to pay.

import { maybe, one, say } from "../core/dom.js";
import { format, gettext } from "../core/i18n.js";

/**
 * A payment request as the server sends it (payments/serializers: request_payload).
 * @typedef {object} PaymentRequest
 * @property {string} id
 * @property {string} status
 * @property {string} status_label
 * @property {string} amount_display
 * @property {string} description
 * @property {string} payer_id
 * @property {string} payer_name
 * @property {string} clinic
 * @property {string} created_at
 * @property {string} [card_brand]
 * @property {string} [card_last4]
 * @property {string} [reference]
 * @property {string} [failure_message]
 * @property {string} [cancel_reason]
 * @property {string} [receipt_url]
 */

/** @typedef {{ ok: boolean, status: number, data: any }} ApiAnswer */

// A request the network swallows (no answer, no error) gives up after this long, so that no
// button stays disabled for ever.
// The server says how long its own worst case is (Stripe's timeout × tries, and a margin).
let requestTimeoutMs = 35000;

const appData = document.querySelector('[data-call-app="payments"]');
const root = document.querySelector("[data-call], [data-payer-only]");
// The JSON endpoint of this page's payments, handed over by the server (payments/call_tool.py).
const base = appData instanceof HTMLElement ? appData.dataset.apiUrl || "" : "";
if (appData instanceof HTMLElement && root && base) start(appData);

function csrfToken() {
  const input = maybe(document, "input[name=csrfmiddlewaretoken]", HTMLInputElement);
  return input ? input.value : "";
}

/**
 * A JSON call to our server; never throws: a network failure or a wordless answer comes back as
 * { ok: false, data: { error } } with words to show.
 * @param {string} url
 * @param {{ method?: string, body?: object }} [options]
 * @returns {Promise<ApiAnswer>}
 */
async function api(url, { method = "GET", body } = {}) {
  const unreachable = () => ({ ok: false, status: 0, data: { error: gettext("CareCall could not be reached. Check your connection and try again.") } });
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
  } catch {
    // Offline, the server could not be reached, or no answer in time: say so, and let the
    // person try again.
    return unreachable();
  }
  let data;
  try {
    data = await response.json();
  } catch (error) {
    // The answer was cut off (or timed out) on the way, or was not JSON.
    if (error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")) return unreachable();
    data = { error: gettext("The server answered with an error. Try again.") };
  }
  if (!data || typeof data !== "object") data = {};
  if (!response.ok && !data.error) data.error = gettext("The server answered with an error. Try again.");
  return { ok: response.ok, status: response.status, data };
}

// A payer's kind as the server sends it, in words (each a literal, so makemessages finds it).
/** @param {string} kind */
function payerKindLabel(kind) {
  if (kind === "patient") return gettext("patient");
  if (kind === "guest") return gettext("guest");
  return kind;
}

/** @param {string} text */
function announce(text) {
  say(maybe(document, "[data-announce]"), text);
}

/** @param {HTMLElement} app the payments app's data attributes */
function start(app) {
  requestTimeoutMs = 1000 * Number(app.dataset.requestTimeout || 35) || requestTimeoutMs;
  const panel = maybe(document, "[data-payments-panel]");
  if (panel) clinician(panel, app);
  const payerEl = maybe(document, "[data-payer]");
  if (payerEl) payer(payerEl, app);
}

/** @param {string} name */
function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `#icon-${name}`);
  svg.append(use);
  return svg;
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const OPEN = ["requested", "processing", "failed"];

/**
 * What a carecall:* event carries (call.js dispatches them).
 * @param {Event} event
 * @returns {any}
 */
const detailOf = (event) => (event instanceof CustomEvent ? event.detail : {});

// ------------------------------------------------------------------ clinician

/**
 * @param {HTMLElement} panel
 * @param {HTMLElement} app the payments app's data attributes
 */
function clinician(panel, app) {
  const form = one(panel, "[data-request-form]", HTMLFormElement);
  const list = one(panel, "[data-pay-list]");
  const error = one(panel, "[data-pay-error]");
  const banner = maybe(document, "[data-paid-banner]");
  const description = one(form, "#pay-description", HTMLTextAreaElement);
  const amountField = one(form, "#pay-amount", HTMLInputElement);
  const select = one(form, "#pay-payer", HTMLSelectElement);
  const button = one(form, "[data-pay-submit]", HTMLButtonElement);
  const counter = one(panel, "[data-pay-description-count]");
  const descriptionMax = Number(app.dataset.descriptionMax || 200);
  const none = one(panel, "[data-pay-none]");
  const summary = one(panel, "[data-pay-summary]");
  /** @type {Map<string, PaymentRequest>} */
  const requests = new Map();
  let ended = false;

  document.addEventListener("carecall:app", (event) => {
    if (detailOf(event).key !== "payments") return;
    panel.hidden = false;
    document.dispatchEvent(new CustomEvent("carecall:open-apps"));
    // Focus now, not after the load: a late focus would steal typing from another field.
    amountField.focus();
    load();
  });

  // Say how long the description is before the server has to refuse it (nothing is cut off).
  function countDescription() {
    const n = description.value.length;
    const over = n > descriptionMax;
    counter.textContent = over
      ? format(gettext("%(n)s characters too many (at most %(max)s)."), { n: n - descriptionMax, max: descriptionMax })
      : format(gettext("%(n)s of %(max)s characters"), { n, max: descriptionMax });
    counter.classList.toggle("form-error", over);
    if (over) description.setAttribute("aria-invalid", "true");
    else if (description.getAttribute("aria-invalid") && !error.textContent) description.removeAttribute("aria-invalid");
    return !over;
  }
  description.addEventListener("input", countDescription);
  countDescription();

  async function load() {
    const { ok, data } = await api(base);
    if (!ok) { if (!ended) error.textContent = data.error; return; }
    const missing = one(panel, "[data-pay-missing]");
    missing.hidden = !data.missing;
    missing.textContent = data.missing;
    form.hidden = Boolean(data.missing);
    one(panel, "[data-pay-currency]").textContent = data.currency;
    one(panel, "[data-pay-amount-help]").textContent =
      format(gettext("%(currency)s, up to %(maximum)s"), { currency: data.currency, maximum: data.maximum });
    const chosen = select.value;
    select.replaceChildren(...data.payers.map((p) => new Option(`${p.name} (${payerKindLabel(p.kind)})`, p.id)));
    if (chosen) select.value = chosen;
    for (const r of data.requests) update(r);
    render();
  }

  function statusText(r) {
    if (r.status === "paid") return gettext("Payment received");
    if (r.status === "requested") return gettext("Waiting for payment");
    return r.status_label;
  }

  function render() {
    const items = [...requests.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
    list.replaceChildren(...items.map((r) => {
      const li = el("li", `payment-item status-${r.status}`);
      li.dataset.request = r.id;
      li.dataset.status = r.status;
      const head = el("p", "payment-line");
      head.append(el("strong", "payment-amount", r.amount_display), " ", el("span", "", r.description));
      const status = el("p", "payment-status");
      status.append(el("span", `badge badge-${r.status}`, statusText(r)), " ", el("span", "muted", r.payer_name));
      li.append(head, status);
      if (r.status === "paid") li.append(el("p", "muted", `${r.card_brand} •••• ${r.card_last4} · ${r.reference}`));
      if (r.failure_message && r.status === "failed") li.append(el("p", "form-error", r.failure_message));
      if (r.cancel_reason && r.status === "cancelled") li.append(el("p", "muted", r.cancel_reason));
      if (OPEN.includes(r.status) && !ended) {
        const cancel = el("button", "secondary", gettext("Cancel request"));
        cancel.type = "button";
        cancel.setAttribute("aria-label", format(gettext("Cancel %(amount)s %(description)s"), { amount: r.amount_display, description: r.description }));
        cancel.addEventListener("click", async () => {
          cancel.disabled = true;
          const result = await api(`${base}${r.id}/cancel/`, { method: "POST" });
          if (!result.ok) { announce(result.data.error); cancel.disabled = false; return; }
          update(result.data.request);
          render();
        });
        li.append(cancel);
      }
      return li;
    }));
    none.hidden = items.length > 0;
  }

  // A request's news, told once: Payment received as a banner over the call; a failure too.
  function update(r) {
    const before = requests.get(r.id);
    requests.set(r.id, r);
    if (!before || before.status === r.status) return;
    if (r.status === "paid") {
      showBanner(r, true);
      announce(format(gettext("Payment received: %(amount)s for %(description)s."), { amount: r.amount_display, description: r.description }));
    } else if (r.status === "failed") {
      showBanner(r, false);
      announce(format(gettext("%(name)s's payment did not go through: %(reason)s They can try again."), { name: r.payer_name, reason: r.failure_message }));
    }
  }

  function showBanner(r, paid) {
    if (!banner) return;
    banner.classList.toggle("failed", !paid);
    one(banner, "h2").textContent = paid ? gettext("Payment received") : gettext("Payment not completed");
    one(banner, "[data-paid-amount]").textContent = `${r.amount_display} — ${r.description}`;
    one(banner, "[data-paid-detail]").textContent = paid
      ? format(gettext("%(name)s paid by %(card)s. Reference %(reference)s."), { name: r.payer_name, card: `${r.card_brand} •••• ${r.card_last4}`, reference: r.reference })
      : format(gettext("%(reason)s %(name)s can try again."), { reason: r.failure_message, name: r.payer_name });
    banner.hidden = false;
  }
  if (banner) one(banner, "[data-paid-dismiss]").addEventListener("click", () => { banner.hidden = true; });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    error.textContent = "";
    form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
    if (!countDescription()) { description.focus(); return; }
    button.disabled = true;
    const body = {
      amount: amountField.value,
      description: description.value,
      payer: select.value,
    };
    try {
      const result = await api(base, { method: "POST", body });
      if (!result.ok) {
        error.textContent = result.data.error;
        const field = result.data.field ? form.elements.namedItem(result.data.field) : null;
        if (field instanceof HTMLElement) { field.setAttribute("aria-invalid", "true"); field.focus(); }
        return;
      }
      update(result.data.request);
      render();
      form.reset();
      countDescription();
      announce(format(gettext("Payment of %(amount)s requested."), { amount: result.data.request.amount_display }));
    } finally {
      button.disabled = false;
    }
  });

  document.addEventListener("carecall:message", (event) => {
    const m = detailOf(event);
    if (m.type === "payment") {
      update(m.request);
      render();
    } else if (m.type === "participant_joined" || m.type === "welcome") {
      if (!panel.hidden || m.type === "welcome") load();
    }
  });

  // After the end: the call's payments join the visit summary, and stay live while anything
  // is still open (a patient may pay later from their link).
  document.addEventListener("carecall:ended", (event) => {
    ended = true;
    if (banner) banner.hidden = true;
    const slot = detailOf(event).slot;
    slot.replaceChildren(el("h2", "", gettext("Payments in this call")), summary);
    render();
    const poll = async () => {
      if (document.visibilityState === "visible") await load();
      if ([...requests.values()].some((r) => OPEN.includes(r.status))) window.setTimeout(poll, 10000);
    };
    poll();
  });
}

// ------------------------------------------------------------------ payer

/**
 * @param {HTMLElement} section
 * @param {HTMLElement} app the payments app's data attributes
 */
function payer(section, app) {
  const list = one(section, "[data-payer-list]");
  const dialog = one(document, "[data-pay-dialog]", HTMLDialogElement);
  const form = one(dialog, "[data-pay-form]", HTMLFormElement);
  const formError = one(dialog, "[data-pay-form-error]");
  const confirmation = one(dialog, "[data-pay-confirmation]");
  const payButton = one(form, "[data-pay-button]", HTMLButtonElement);
  const emailField = one(form, "[name=email]", HTMLInputElement);
  /** @type {Record<string, string>} */
  const texts = {};
  one(section, "[data-payer-texts]", HTMLTemplateElement).content.querySelectorAll("[data-text]")
    .forEach((node) => { if (node instanceof HTMLElement) texts[node.dataset.text || ""] = node.textContent || ""; });
  const requests = new Map();
  const dismissed = new Set();
  let me = null;
  let stripeLoaded = null;
  let current = null; // {id, request, stripe, elements, element}

  function loadStripe() {
    if (!stripeLoaded) {
      stripeLoaded = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = app.dataset.stripeJs || "";
        script.onload = resolve;
        script.onerror = () => { stripeLoaded = null; reject(new Error(gettext("Stripe.js could not be loaded. Check your connection and try again."))); };
        document.head.append(script);
      });
    }
    return stripeLoaded;
  }

  async function load() {
    const { ok, data } = await api(base);
    if (!ok) return;
    me = data.me;
    for (const r of data.requests) requests.set(r.id, r);
    render();
  }

  const payLabel = (r) => format(gettext("Pay %(amount)s"), { amount: r.amount_display });

  function card(r) {
    const li = el("li", `pay-card status-${r.status}`);
    li.dataset.request = r.id;
    li.append(el("p", "pay-card-clinic", r.clinic));
    li.append(el("p", "pay-card-amount", r.amount_display));
    li.append(el("p", "pay-card-description", r.description));
    const actions = el("div", "pay-card-actions");
    if (r.status === "paid") {
      const done = el("p", "pay-card-status paid");
      done.append(icon("check"), ` ${texts.paid} · ${r.reference}`);
      li.append(done);
      if (r.receipt_url) {
        const link = el("a", "button secondary", gettext("View receipt"));
        link.href = r.receipt_url;
        link.target = "_blank";
        link.rel = "noopener";
        actions.append(link);
      }
      const hide = el("button", "secondary", gettext("Close"));
      hide.type = "button";
      hide.setAttribute("aria-label", format(gettext("Close the paid %(amount)s"), { amount: r.amount_display }));
      hide.addEventListener("click", () => { dismissed.add(r.id); render(); });
      actions.append(hide);
    } else {
      if (r.status === "processing") li.append(el("p", "pay-card-status", r.status_label));
      if (r.status === "failed" && r.failure_message) {
        li.append(el("p", "form-error", `${r.failure_message} ${gettext("Check the card details or use another card, then try again.")}`));
      }
      if (["requested", "failed"].includes(r.status)) {
        const pay = el("button", "button-large", gettext("Pay now"));
        pay.type = "button";
        pay.setAttribute("aria-label", `${gettext("Pay now")}: ${r.amount_display}, ${r.description}`);
        pay.addEventListener("click", () => open(r.id));
        actions.append(pay);
      }
    }
    if (actions.children.length) li.append(actions);
    return li;
  }

  function render() {
    // Cancelled and expired requests are gone for the payer; paid ones stay until closed.
    const mine = [...requests.values()]
      .filter((r) => r.payer_id === me && (OPEN.includes(r.status) || r.status === "paid") && !dismissed.has(r.id))
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
    section.hidden = mine.length === 0;
    list.replaceChildren(...mine.map(card));
  }

  function unmount() {
    if (current && current.element) current.element.unmount();
    current = null;
  }

  async function open(id) {
    formError.textContent = "";
    const { ok, data } = await api(`${base}${id}/`);
    if (!ok) {
      if (data.request) { requests.set(id, data.request); render(); }
      announce(data.error);
      return;
    }
    try { await loadStripe(); } catch (error) { announce(error instanceof Error ? error.message : String(error)); return; }
    if (!window.Stripe) return;
    unmount();
    const stripe = window.Stripe(data.publishable_key, { stripeAccount: data.stripe_account });
    const elements = stripe.elements({ clientSecret: data.client_secret });
    const element = elements.create("payment");
    element.mount(one(form, "[data-payment-element]"));
    current = { id, request: data.request, stripe, elements, element };
    one(dialog, "[data-pay-title]").textContent = format(gettext("Pay %(clinic)s"), { clinic: data.request.clinic });
    one(dialog, "[data-pay-for]").textContent = `${data.request.amount_display} — ${data.request.description}`;
    payButton.textContent = payLabel(data.request);
    if (data.receipt_email) emailField.value = data.receipt_email;
    form.hidden = false;
    confirmation.hidden = true;
    if (!dialog.open) dialog.showModal();
    emailField.focus();
  }

  function close() {
    unmount();
    if (dialog.open) dialog.close();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (payButton.disabled || !current) return; // a second click never pays twice
    const paying = current;
    payButton.disabled = true;
    payButton.textContent = texts.paying;
    formError.textContent = "";
    try {
      const email = emailField.value.trim();
      const saved = await api(`${base}${paying.id}/email/`, { method: "POST", body: { email } });
      if (!saved.ok) {
        formError.textContent = saved.data.error;
        if (saved.data.field === "email") emailField.focus();
        return;
      }
      const result = await paying.stripe.confirmPayment({
        elements: paying.elements,
        confirmParams: { receipt_email: email, return_url: location.href },
        redirect: "if_required",
      });
      if (result.error && result.error.code !== "payment_intent_unexpected_state") {
        // A field's own problem is already written under that field by the Payment Element:
        // say where to look instead of saying it twice.
        if (result.error.type === "validation_error") {
          formError.textContent = gettext("Check the card details above, then press Pay again.");
          announce(`${result.error.message} ${formError.textContent}`);
          return;
        }
        const again = result.error.type === "card_error"
          ? gettext("Check the card details or use another card, then press Pay again.")
          : gettext("Press Pay to try again.");
        formError.textContent = `${result.error.message} ${again}`;
        announce(formError.textContent);
        return;
      }
      // Stripe.js says it is done; the server asks Stripe what really happened.
      const done = await api(`${base}${paying.id}/complete/`, { method: "POST" });
      if (!done.ok && (done.status === 0 || done.data.checking)) {
        // Stripe.js said done but the check did not answer: the card may be charged. Say what
        // is known and keep asking (the request has one intent: it cannot be charged twice).
        formError.textContent = texts.unconfirmed;
        announce(texts.unconfirmed);
        keepChecking(paying.id, email, 2000);
        return;
      }
      if (!done.ok) { formError.textContent = done.data.error; return; }
      completed(done.data.request, email);
    } finally {
      payButton.disabled = false;
      if (current) payButton.textContent = payLabel(current.request);
    }
  });

  function completed(r, email) {
    requests.set(r.id, r);
    render();
    if (r.status === "paid") showConfirmation(r, email);
    else formError.textContent = r.failure_message || r.status_label;
  }

  function keepChecking(id, email, delay) {
    window.setTimeout(async () => {
      const done = await api(`${base}${id}/complete/`, { method: "POST" });
      if (done.ok) {
        if (current && current.id === id) completed(done.data.request, email);
        else { requests.set(id, done.data.request); render(); }
      } else if (done.status === 0 || done.status === 429 || done.data.checking) {
        keepChecking(id, email, Math.min(delay * 2, 30000));
      }
    }, delay);
  }

  for (const button of dialog.querySelectorAll("[data-pay-close]")) button.addEventListener("click", close);
  one(dialog, "[data-pay-done]").addEventListener("click", close);
  dialog.addEventListener("close", unmount); // Escape closes the native dialog too

  function showConfirmation(r, email) {
    unmount();
    form.hidden = true;
    for (const dd of confirmation.querySelectorAll("[data-confirm]")) {
      if (!(dd instanceof HTMLElement)) continue;
      const key = dd.dataset.confirm || "";
      dd.textContent = key === "card" ? `${r.card_brand} •••• ${r.card_last4}` : r[key];
    }
    one(confirmation, "[data-confirm-email]").textContent = email;
    const receipt = one(confirmation, "[data-confirm-receipt]", HTMLAnchorElement);
    receipt.hidden = !r.receipt_url;
    if (r.receipt_url) receipt.href = r.receipt_url;
    confirmation.hidden = false;
    confirmation.focus();
    announce(format(gettext("Payment confirmed: %(amount)s. Reference %(reference)s."), { amount: r.amount_display, reference: r.reference }));
  }

  document.addEventListener("carecall:message", (event) => {
    const m = detailOf(event);
    if (m.type === "welcome") { me = m.you.id; load(); }
    if (m.type === "payment") {
      const isNew = !requests.has(m.request.id);
      requests.set(m.request.id, m.request);
      render();
      if (isNew && m.request.payer_id === me) {
        announce(format(gettext("%(clinic)s asks you to pay %(amount)s for %(description)s. Press Pay now."), { clinic: m.request.clinic, amount: m.request.amount_display, description: m.request.description }));
      }
      if (current && current.id === m.request.id && ["cancelled", "expired"].includes(m.request.status)) {
        close();
        announce(m.request.cancel_reason || m.request.status_label);
      }
    }
  });

  // After the call: what is still unpaid stays payable on the end screen.
  document.addEventListener("carecall:ended", (event) => {
    detailOf(event).slot.append(section);
    render();
  });
  load();
}
