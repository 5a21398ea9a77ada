// Payments in the call: the clinician's Request payment panel, and the payer's Pay now.
// Amounts come from the server's record only; the browser never sends an amount to pay.

import { format, gettext } from "../core/i18n.js";

const appData = document.querySelector('[data-call-app="payments"]');
const root = document.querySelector("[data-call], [data-payer-only]");
if (appData && root) start();

function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

async function api(url, { method = "GET", body } = {}) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = {};
  try { data = await response.json(); } catch { data = { error: gettext("The server answered with an error. Try again.") }; }
  return { ok: response.ok, status: response.status, data };
}

// A payer's kind as the server sends it, in words (each a literal, so makemessages finds it).
function payerKindLabel(kind) {
  if (kind === "patient") return gettext("patient");
  if (kind === "guest") return gettext("guest");
  return kind;
}

function announce(text) {
  const el = document.querySelector("[data-announce]");
  if (!el) return;
  el.textContent = "";
  window.setTimeout(() => { el.textContent = text; }, 30);
}

function start() {
  const panel = document.querySelector("[data-payments-panel]");
  if (panel) clinician(panel);
  const payerEl = document.querySelector("[data-payer]");
  if (payerEl) payer(payerEl);
}

// ------------------------------------------------------------------ clinician

function clinician(panel) {
  const base = location.pathname.replace(/call\/$/, "payments/");
  const form = panel.querySelector("[data-request-form]");
  const list = panel.querySelector("[data-pay-list]");
  const error = panel.querySelector("[data-pay-error]");
  const requests = new Map();

  document.addEventListener("carecall:app", (event) => {
    if (event.detail.key !== "payments") return;
    panel.hidden = false;
    load().then(() => form.querySelector("#pay-amount").focus());
  });

  async function load() {
    const { ok, data } = await api(base);
    if (!ok) return;
    const missing = panel.querySelector("[data-pay-missing]");
    missing.hidden = !data.missing;
    missing.textContent = data.missing;
    form.hidden = Boolean(data.missing);
    panel.querySelector("[data-pay-currency]").textContent = data.currency;
    panel.querySelector("[data-pay-amount-help]").textContent =
      format(gettext("%(currency)s, up to %(maximum)s"), { currency: data.currency, maximum: data.maximum });
    const select = form.querySelector("#pay-payer");
    const chosen = select.value;
    select.replaceChildren(...data.payers.map((p) => new Option(`${p.name} (${payerKindLabel(p.kind)})`, p.id)));
    if (chosen) select.value = chosen;
    for (const r of data.requests) requests.set(r.id, r);
    render();
  }

  function render() {
    const items = [...requests.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
    list.replaceChildren(...items.map((r) => {
      const li = document.createElement("li");
      li.dataset.request = r.id;
      li.dataset.status = r.status;
      const label = r.status === "paid" ? gettext("Payment received") : (r.status === "requested" ? gettext("Pending") : r.status_label);
      const text = document.createElement("span");
      text.textContent = `${r.amount_display} — ${r.description} — ${r.payer_name}: ${label}`;
      if (r.status === "paid") text.textContent += ` (${r.card_brand} •••• ${r.card_last4}, ${r.reference})`;
      if (r.failure_message && r.status === "failed") text.textContent += ` — ${r.failure_message}`;
      if (r.cancel_reason && r.status === "cancelled") text.textContent += ` — ${r.cancel_reason}`;
      li.append(text);
      if (["requested", "processing", "failed"].includes(r.status)) {
        const cancel = document.createElement("button");
        cancel.type = "button";
        cancel.className = "secondary";
        cancel.textContent = gettext("Cancel");
        cancel.setAttribute("aria-label", format(gettext("Cancel %(amount)s %(description)s"), { amount: r.amount_display, description: r.description }));
        cancel.addEventListener("click", async () => {
          cancel.disabled = true;
          const result = await api(`${base}${r.id}/cancel/`, { method: "POST" });
          if (!result.ok) { announce(result.data.error); cancel.disabled = false; return; }
          requests.set(r.id, result.data.request);
          render();
        });
        li.append(" ", cancel);
      }
      return li;
    }));
    panel.querySelector("[data-pay-none]").hidden = items.length > 0;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("[data-pay-submit]");
    if (button.disabled) return;
    button.disabled = true;
    error.textContent = "";
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const body = {
      amount: form.elements.amount.value,
      description: form.elements.description.value,
      payer: form.elements.payer.value,
    };
    const result = await api(base, { method: "POST", body });
    button.disabled = false;
    if (!result.ok) {
      error.textContent = result.data.error;
      const field = result.data.field && form.elements[result.data.field];
      if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
      return;
    }
    requests.set(result.data.request.id, result.data.request);
    render();
    form.reset();
    announce(format(gettext("Payment of %(amount)s requested."), { amount: result.data.request.amount_display }));
  });

  document.addEventListener("carecall:message", (event) => {
    const m = event.detail;
    if (m.type === "payment") {
      const before = requests.get(m.request.id);
      requests.set(m.request.id, m.request);
      render();
      if (m.request.status === "paid" && (!before || before.status !== "paid")) {
        announce(format(gettext("Payment received: %(amount)s for %(description)s."), { amount: m.request.amount_display, description: m.request.description }));
      }
    } else if (m.type === "participant_joined" || m.type === "welcome") {
      if (!panel.hidden) load();
    }
  });
}

// ------------------------------------------------------------------ payer

function payer(section) {
  const base = (location.pathname.match(/^\/[vj]\/[^/]+\//) || [""])[0] + "payments/";
  const list = section.querySelector("[data-payer-list]");
  const form = section.querySelector("[data-pay-form]");
  const formError = section.querySelector("[data-pay-form-error]");
  const confirmation = section.querySelector("[data-pay-confirmation]");
  const texts = {};
  section.querySelector("[data-payer-texts]").content.querySelectorAll("[data-text]")
    .forEach((el) => { texts[el.dataset.text] = el.textContent; });
  const requests = new Map();
  let me = null;
  let stripeLoaded = null;
  let current = null; // {id, stripe, elements, element}

  function loadStripe() {
    if (!stripeLoaded) {
      stripeLoaded = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = appData.dataset.stripeJs;
        script.onload = resolve;
        script.onerror = () => reject(new Error(gettext("Stripe.js could not be loaded. Check your connection and try again.")));
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

  function render() {
    const mine = [...requests.values()].filter((r) => r.payer_id === me)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
    section.hidden = mine.length === 0;
    list.replaceChildren(...mine.map((r) => {
      const li = document.createElement("li");
      li.dataset.request = r.id;
      const text = document.createElement("span");
      if (r.status === "paid") text.textContent = `${texts.paid}: ${r.amount_display} — ${r.description} (${r.reference})`;
      else if (["requested", "processing", "failed"].includes(r.status)) text.textContent = `${texts.requested}: ${r.amount_display} — ${r.description}`;
      else text.textContent = `${r.amount_display} — ${r.description}: ${r.status_label}${r.cancel_reason ? ` (${r.cancel_reason})` : ""}`;
      li.append(text);
      if (["requested", "failed"].includes(r.status)) {
        const pay = document.createElement("button");
        pay.type = "button";
        pay.textContent = texts["pay-now"];
        pay.setAttribute("aria-label", `${texts["pay-now"]}: ${r.amount_display} ${r.description}`);
        pay.addEventListener("click", () => open(r.id));
        li.append(" ", pay);
      }
      return li;
    }));
  }

  async function open(id) {
    formError.textContent = "";
    confirmation.hidden = true;
    const { ok, data } = await api(`${base}${id}/`);
    if (!ok) {
      if (data.request) { requests.set(id, data.request); render(); }
      announce(data.error);
      return;
    }
    try { await loadStripe(); } catch (error) { announce(error.message); return; }
    if (current && current.element) current.element.unmount();
    const stripe = window.Stripe(data.publishable_key, { stripeAccount: data.stripe_account });
    const elements = stripe.elements({ clientSecret: data.client_secret });
    const element = elements.create("payment");
    element.mount(form.querySelector("[data-payment-element]"));
    current = { id, stripe, elements, element };
    form.querySelector("[data-pay-title]").textContent =
      `${data.request.amount_display} — ${data.request.description}`;
    if (data.receipt_email) form.elements.email.value = data.receipt_email;
    form.hidden = false;
    form.elements.email.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("[data-pay-button]");
    if (button.disabled || !current) return; // a second click never pays twice
    button.disabled = true;
    button.textContent = texts.paying;
    formError.textContent = "";
    try {
      const email = form.elements.email.value.trim();
      const saved = await api(`${base}${current.id}/email/`, { method: "POST", body: { email } });
      if (!saved.ok) {
        formError.textContent = saved.data.error;
        if (saved.data.field === "email") form.elements.email.focus();
        return;
      }
      const result = await current.stripe.confirmPayment({
        elements: current.elements,
        confirmParams: { receipt_email: email, return_url: location.href },
        redirect: "if_required",
      });
      if (result.error && result.error.code !== "payment_intent_unexpected_state") {
        formError.textContent = result.error.message;
        announce(result.error.message);
        return;
      }
      // Stripe.js says it is done; the server asks Stripe what really happened.
      const done = await api(`${base}${current.id}/complete/`, { method: "POST" });
      if (!done.ok) { formError.textContent = done.data.error; return; }
      requests.set(done.data.request.id, done.data.request);
      render();
      if (done.data.request.status === "paid") showConfirmation(done.data.request, email);
      else formError.textContent = done.data.request.failure_message || done.data.request.status_label;
    } finally {
      button.disabled = false;
      button.textContent = button.dataset.label || gettext("Pay");
    }
  });
  form.querySelector("[data-pay-button]").dataset.label = form.querySelector("[data-pay-button]").textContent;

  section.querySelector("[data-pay-close]").addEventListener("click", () => {
    form.hidden = true;
    if (current && current.element) current.element.unmount();
    current = null;
  });

  function showConfirmation(r, email) {
    form.hidden = true;
    if (current && current.element) current.element.unmount();
    current = null;
    for (const dd of confirmation.querySelectorAll("[data-confirm]")) {
      const key = dd.dataset.confirm;
      dd.textContent = key === "card" ? `${r.card_brand} •••• ${r.card_last4}` : r[key];
    }
    confirmation.querySelector("[data-confirm-email]").textContent = email;
    confirmation.hidden = false;
    confirmation.focus();
    announce(format(gettext("Payment confirmed: %(amount)s. Reference %(reference)s."), { amount: r.amount_display, reference: r.reference }));
  }

  document.addEventListener("carecall:message", (event) => {
    const m = event.detail;
    if (m.type === "welcome") { me = m.you.id; load(); }
    if (m.type === "payment") {
      const isNew = !requests.has(m.request.id);
      requests.set(m.request.id, m.request);
      render();
      if (isNew && m.request.payer_id === me) announce(`${texts.requested}: ${m.request.amount_display} — ${m.request.description}.`);
      if (current && current.id === m.request.id && ["cancelled", "expired"].includes(m.request.status)) {
        form.hidden = true;
        announce(m.request.cancel_reason || m.request.status_label);
      }
    }
  });
  load();
}
