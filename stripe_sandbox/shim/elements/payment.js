/* Inside the sandbox's Payment Element frame: the card fields, their validation (worded as
   Stripe's Payment Element words it) and the confirm call. The card data lives here only: the
   host page gets change events ({complete, empty}), validation errors and the confirm result,
   never a field's value. */
(function () {
  "use strict";
  var channel = window.sbxChannel;
  var form = document.getElementById("pe");
  var config = null;
  var busy = false;
  var touched = {};
  var inputs = {
    number: document.getElementById("number"),
    expiry: document.getElementById("expiry"),
    cvc: document.getElementById("cvc"),
    postal: document.getElementById("postal")
  };
  var country = document.getElementById("country");
  var postalField = document.getElementById("postal-field");
  var postalLabel = document.getElementById("postal-label");

  // Where the element asks for a postal code with cards, and the country's word for it (Stripe
  // asks in the US, the UK and Canada; the sandbox asks in Australia and New Zealand too, as
  // CareCall's clinics are there). The error uses the label's word: a "Postcode" field never
  // says "postal code".
  var POSTAL = {
    AU: { label: "Postcode", incomplete: "Your postcode is incomplete.", invalid: "Your postcode is invalid.", pattern: /^\d{4}$/ },
    NZ: { label: "Postcode", incomplete: "Your postcode is incomplete.", invalid: "Your postcode is invalid.", pattern: /^\d{4}$/ },
    US: { label: "ZIP", incomplete: "Your ZIP is incomplete.", invalid: "Your ZIP is invalid.", pattern: /^\d{5}(-?\d{4})?$/ },
    GB: { label: "Postcode", incomplete: "Your postcode is incomplete.", invalid: "Your postcode is invalid.", pattern: /^[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}$/ },
    CA: { label: "Postal code", incomplete: "Your postal code is incomplete.", invalid: "Your postal code is invalid.", pattern: /^[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d$/ }
  };

  function luhn(num) {
    var sum = 0;
    for (var i = 0; i < num.length; i++) {
      var d = +num[num.length - 1 - i];
      if (i % 2) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }
  function digits(value) { return value.replace(/\D/g, ""); }
  function isAmex(num) { return /^3[47]/.test(num); }

  var CHECKS = {
    number: function (v) {
      var n = v.replace(/\s+/g, "");
      if (!n) return ["incomplete_number", "Your card number is incomplete."];
      if (!/^\d+$/.test(n)) return ["invalid_number", "Your card number is invalid."];
      if (n.length < (isAmex(n) ? 15 : 16)) return ["incomplete_number", "Your card number is incomplete."];
      if (!luhn(n)) return ["invalid_number", "Your card number is invalid."];
      return null;
    },
    expiry: function (v) {
      var m = v.replace(/\s+/g, "").match(/^(\d{1,2})\/?(\d{0,2})$/);
      if (!v.trim() || !m || m[2].length < 2) return ["incomplete_expiry", "Your card's expiration date is incomplete."];
      var month = +m[1], year = 2000 + +m[2], now = new Date();
      if (month < 1 || month > 12) return ["invalid_expiry_month", "Your card's expiration date is invalid."];
      if (year < now.getFullYear()) return ["invalid_expiry_year_past", "Your card's expiration year is in the past."];
      if (year === now.getFullYear() && month < now.getMonth() + 1) return ["invalid_expiry_month_past", "Your card's expiration date is in the past."];
      if (year > now.getFullYear() + 50) return ["invalid_expiry_year", "Your card's expiration year is invalid."];
      return null;
    },
    cvc: function (v) {
      if (!/^\d*$/.test(v)) return ["invalid_cvc", "Your card's security code is invalid."];
      if (v.length < (isAmex(digits(inputs.number.value)) ? 4 : 3)) return ["incomplete_cvc", "Your card's security code is incomplete."];
      return null;
    },
    postal: function (v) {
      var rule = POSTAL[country.value];
      if (!rule) return null;
      if (!v.trim()) return ["incomplete_zip", rule.incomplete];
      if (!rule.pattern.test(v.trim())) return ["invalid_zip", rule.invalid];
      return null;
    }
  };
  var NAMES = ["number", "expiry", "cvc", "postal"];

  function check(name) { return CHECKS[name](inputs[name].value); }
  function show(name, problem) {
    document.getElementById(name + "-error").textContent = problem ? problem[1] : "";
    inputs[name].setAttribute("aria-invalid", problem ? "true" : "false");
  }
  function shown(name) { return document.getElementById(name + "-error").textContent; }

  function format(name) {
    var input = inputs[name], d;
    if (name === "number") {
      d = digits(input.value).slice(0, 19);
      input.value = isAmex(d)
        ? [d.slice(0, 4), d.slice(4, 10), d.slice(10, 15)].filter(Boolean).join(" ")
        : d.replace(/(\d{4})(?=\d)/g, "$1 ");
    } else if (name === "expiry") {
      d = digits(input.value).slice(0, 4);
      input.value = d.length > 2 ? d.slice(0, 2) + " / " + d.slice(2) : d;
    } else if (name === "cvc") {
      input.value = digits(input.value).slice(0, 4);
    }
  }

  function firstError() {
    for (var i = 0; i < NAMES.length; i++) {
      if (shown(NAMES[i])) return { type: "validation_error", code: check(NAMES[i])[0], message: shown(NAMES[i]) };
    }
    return undefined;
  }

  function changed(name, blurred) {
    var problem = check(name);
    // Like Stripe: "incomplete" once the field is left; "invalid" as soon as it is known.
    var visible = problem && (blurred || touched[name] || !/^incomplete/.test(problem[0])) ? problem : null;
    if (!problem || visible) show(name, visible);
    var complete = true, empty = true;
    NAMES.forEach(function (n) {
      if (check(n)) complete = false;
      if (inputs[n].value) empty = false;
    });
    channel.post("change", { event: { elementType: "payment", complete: complete, empty: empty, collapsed: false, value: { type: "card" }, error: firstError() } });
  }

  function validateAll() {
    var first = null;
    NAMES.forEach(function (n) {
      var problem = check(n);
      touched[n] = true;
      show(n, problem);
      if (problem && !first) first = { type: "validation_error", code: problem[0], message: problem[1] };
    });
    return first;
  }

  function setCountry() {
    var rule = POSTAL[country.value];
    postalField.hidden = !rule;
    if (rule) postalLabel.textContent = rule.label;
    else { inputs.postal.value = ""; show("postal", null); }
    if (touched.postal && rule) changed("postal", true);
  }

  function appearance(a) {
    var vars = (a && a.variables) || {};
    var root = document.documentElement.style;
    var map = { colorText: "--sbx-text", colorDanger: "--sbx-danger", borderRadius: "--sbx-radius", colorPrimary: "--sbx-primary", colorBackground: "--sbx-background" };
    for (var k in map) if (typeof vars[k] === "string") root.setProperty(map[k], vars[k]);
    if (typeof vars.fontFamily === "string") document.body.style.fontFamily = vars.fontFamily;
  }

  NAMES.forEach(function (name) {
    var input = inputs[name];
    input.addEventListener("input", function () { format(name); changed(name, false); });
    input.addEventListener("blur", function () { touched[name] = true; changed(name, true); channel.post("blur"); });
    input.addEventListener("focus", function () { channel.post("focus"); });
  });
  country.addEventListener("change", function () { setCountry(); changed("number", false); });
  // Enter in a field submits the host's form, as in Stripe's Payment Element.
  form.addEventListener("submit", function (event) { event.preventDefault(); channel.post("submit"); });
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.tagName === "INPUT") { event.preventDefault(); channel.post("submit"); }
  });

  function reply(id, result) { channel.post("reply", { id: id, result: result }); }

  channel.on("init", function (d) {
    config = { key: String(d.key), account: d.account || "", clientSecret: String(d.clientSecret || "") };
    if (d.locale && /^[a-z]{2}(-[A-Z]{2})?$/.test(d.locale)) document.documentElement.lang = d.locale;
    appearance(d.appearance);
    if (/^[A-Z]{2}$/.test(d.country || "") && country.querySelector('option[value="' + d.country + '"]')) country.value = d.country;
    setCountry();
    form.hidden = false;
    channel.reportHeight();
    channel.post("ready");
  });
  channel.on("appearance", function (d) { appearance(d.appearance); });
  channel.on("focus", function () { inputs.number.focus(); });
  channel.on("clear", function () {
    NAMES.forEach(function (n) { inputs[n].value = ""; show(n, null); });
    touched = {};
  });
  channel.on("validate", function (d) {
    var error = validateAll();
    reply(d.id, error ? { error: error } : {});
  });

  // One PaymentMethod from the card fields, then exactly one confirm of the PaymentIntent.
  channel.on("confirm", function (d) {
    if (!config) return reply(d.id, { error: { type: "invalid_request_error", message: "The Payment Element is not ready yet." } });
    if (busy) return reply(d.id, { error: { type: "invalid_request_error", code: "payment_intent_unexpected_state", message: "A payment is already being confirmed." } });
    var invalid = validateAll();
    if (invalid) return reply(d.id, { error: invalid });
    var params = d.params || {};
    var exp = inputs.expiry.value.replace(/\s+/g, "").split("/");
    var address = { country: country.value };
    if (POSTAL[country.value]) address.postal_code = inputs.postal.value.trim();
    var pm = {
      type: "card",
      card: { number: digits(inputs.number.value), exp_month: +exp[0], exp_year: 2000 + +exp[1], cvc: inputs.cvc.value },
      billing_details: { address: address, email: params.receipt_email }
    };
    var intent = config.clientSecret.split("_secret_")[0];
    busy = true;
    NAMES.forEach(function (n) { inputs[n].readOnly = true; });
    channel.request(config, "POST", "/v1/payment_methods", pm).then(function (r) {
      if (!r.ok) return { error: r.data.error };
      return channel.request(config, "POST", "/v1/payment_intents/" + encodeURIComponent(intent) + "/confirm", {
        client_secret: config.clientSecret,
        payment_method: r.data.id,
        receipt_email: params.receipt_email,
        return_url: params.return_url,
        use_stripe_sdk: "true"
      }).then(function (c) { return c.ok ? { paymentIntent: c.data } : { error: c.data.error }; });
    }).then(function (result) {
      busy = false;
      NAMES.forEach(function (n) { inputs[n].readOnly = false; });
      reply(d.id, result);
    });
  });

  if (!channel.trusted) {
    document.body.textContent = "This frame only works inside a page that loaded Stripe.js.";
    return;
  }
  channel.post("loaded");
})();
