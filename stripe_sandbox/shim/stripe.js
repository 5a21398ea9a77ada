/* Stripe.js stand-in served by stripe_sandbox at /v3/. Plain ES5-ish JS, no build step.
   Implements the subset CareCall's payment page uses; see stripe_sandbox/README.md. */
(function () {
  "use strict";
  var script = document.currentScript;
  var API = script ? new URL(script.src).origin : window.location.origin;
  var uid = 0;

  var CSS = ".sbx-pe{display:grid;gap:.6rem;font:inherit;color:var(--sbx-text,#30313d)}" +
    ".sbx-pe .sbx-row{display:grid;grid-template-columns:1fr 1fr 1fr;gap:.6rem}" +
    ".sbx-pe label{display:block;font-size:.9em;margin-bottom:.2rem}" +
    ".sbx-pe input{box-sizing:border-box;width:100%;padding:.6rem;font:inherit;" +
    "border:1px solid #767676;border-radius:var(--sbx-radius,4px)}" +
    ".sbx-pe input[aria-invalid=true]{border-color:var(--sbx-danger,#df1b41)}" +
    ".sbx-pe .sbx-err{color:var(--sbx-danger,#df1b41);font-size:.85em;margin:.2rem 0 0;min-height:0}" +
    ".sbx-3ds::backdrop{background:rgba(0,0,0,.4)}.sbx-3ds{border:1px solid #ccc;border-radius:8px;" +
    "padding:1.5rem;max-width:24rem;font:16px system-ui,sans-serif}" +
    ".sbx-3ds button{font:inherit;padding:.5rem 1.2rem;margin-right:.5rem}";

  var sheetAdopted = false;
  function injectCss() {
    // A constructed stylesheet works under a strict CSP (style-src 'self', no inline <style>).
    if (sheetAdopted || document.getElementById("sbx-css")) return;
    if (window.CSSStyleSheet && "adoptedStyleSheets" in document) {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
        sheetAdopted = true;
        return;
      } catch (e) { /* fall back to a <style> element */ }
    }
    var style = document.createElement("style");
    style.id = "sbx-css";
    style.textContent = CSS;
    document.head.appendChild(style);
  }

  function form(params, prefix, out) {
    out = out || [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      var key = prefix ? prefix + "[" + k + "]" : k;
      if (v === undefined || v === null) return;
      if (typeof v === "object") form(v, key, out);
      else out.push(encodeURIComponent(key) + "=" + encodeURIComponent(String(v)));
    });
    return out.join("&");
  }

  function luhn(num) {
    var sum = 0;
    for (var i = 0; i < num.length; i++) {
      var d = +num[num.length - 1 - i];
      if (i % 2) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }

  function brandLength(num) { return /^3[47]/.test(num) ? 15 : 16; }

  function intentId(clientSecret) { return String(clientSecret || "").split("_secret_")[0]; }

  // -- validation, worded as Stripe's Payment Element words it ------------------------------
  var CHECKS = {
    number: function (v) {
      var n = v.replace(/\s+/g, "");
      if (!n) return ["incomplete_number", "Your card number is incomplete."];
      if (!/^\d+$/.test(n)) return ["invalid_number", "Your card number is invalid."];
      if (n.length < brandLength(n)) return ["incomplete_number", "Your card number is incomplete."];
      if (!luhn(n)) return ["invalid_number", "Your card number is invalid."];
      return null;
    },
    expiry: function (v) {
      var m = v.replace(/\s+/g, "").match(/^(\d{1,2})\/?(\d{0,2})$/);
      if (!v.trim() || !m || m[2].length < 2) {
        return ["incomplete_expiry", "Your card's expiration date is incomplete."];
      }
      var month = +m[1], year = 2000 + +m[2], now = new Date();
      if (month < 1 || month > 12) return ["invalid_expiry_month", "Your card's expiration date is invalid."];
      if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
        return ["invalid_expiry_month_past", "Your card's expiration date is in the past."];
      }
      if (year > now.getFullYear() + 50) return ["invalid_expiry_year", "Your card's expiration year is invalid."];
      return null;
    },
    cvc: function (v, el) {
      var want = brandLength(el.values().number) === 15 ? 4 : 3;
      if (!/^\d*$/.test(v)) return ["invalid_cvc", "Your card's security code is invalid."];
      if (v.length < want) return ["incomplete_cvc", "Your card's security code is incomplete."];
      return null;
    },
    postal: function (v) {
      return v.trim() ? null : ["incomplete_zip", "Your postcode is incomplete."];
    }
  };
  var FIELDS = [
    ["number", "Card number", "cc-number", "1234 1234 1234 1234"],
    ["expiry", "Expiry (MM / YY)", "cc-exp", "MM / YY"],
    ["cvc", "CVC", "cc-csc", "CVC"],
    ["postal", "Postcode", "postal-code", ""]
  ];

  function PaymentElement(elements, options) {
    this._elements = elements;
    this._options = options || {};
    this._handlers = {};
    this._root = null;
    this._inputs = {};
    this._errors = {};
    this._touched = {};
    this._id = "sbx" + (++uid);
  }

  PaymentElement.prototype.on = function (name, cb) {
    (this._handlers[name] = this._handlers[name] || []).push(cb);
    return this;
  };
  PaymentElement.prototype.off = function (name, cb) {
    this._handlers[name] = (this._handlers[name] || []).filter(function (h) { return h !== cb; });
    return this;
  };
  PaymentElement.prototype._emit = function (name, event) {
    (this._handlers[name] || []).forEach(function (cb) { cb(event); });
  };

  PaymentElement.prototype.mount = function (target) {
    var host = typeof target === "string" ? document.querySelector(target) : target;
    if (!host) throw new Error("stripe_sandbox: mount target not found: " + target);
    injectCss();
    var self = this, root = document.createElement("div");
    root.className = "sbx-pe";
    var vars = (this._elements._appearance && this._elements._appearance.variables) || {};
    if (vars.colorDanger) root.style.setProperty("--sbx-danger", vars.colorDanger);
    if (vars.colorText) root.style.setProperty("--sbx-text", vars.colorText);
    if (vars.borderRadius) root.style.setProperty("--sbx-radius", vars.borderRadius);
    if (vars.fontFamily) root.style.fontFamily = vars.fontFamily;
    var row = document.createElement("div");
    row.className = "sbx-row";
    FIELDS.forEach(function (f, i) {
      var id = self._id + "-" + f[0];
      var wrap = document.createElement("div");
      var label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = f[1];
      var input = document.createElement("input");
      input.id = id;
      input.name = f[0];
      input.autocomplete = f[2];
      input.placeholder = f[3];
      input.inputMode = f[0] === "postal" ? "text" : "numeric";
      input.setAttribute("aria-describedby", id + "-error");
      input.setAttribute("aria-invalid", "false");
      var err = document.createElement("p");
      err.id = id + "-error";
      err.className = "sbx-err";
      err.setAttribute("aria-live", "polite");
      input.addEventListener("input", function () { self._format(f[0]); self._changed(f[0], false); });
      input.addEventListener("blur", function () { self._touched[f[0]] = true; self._changed(f[0], true); self._emit("blur", { elementType: "payment" }); });
      input.addEventListener("focus", function () { self._emit("focus", { elementType: "payment" }); });
      wrap.appendChild(label);
      wrap.appendChild(input);
      wrap.appendChild(err);
      (i === 0 ? root : row).appendChild(wrap);
      self._inputs[f[0]] = input;
      self._errors[f[0]] = err;
    });
    root.appendChild(row);
    host.appendChild(root);
    this._root = root;
    setTimeout(function () { self._emit("ready", { elementType: "payment" }); }, 0);
    return this;
  };

  PaymentElement.prototype.unmount = function () {
    if (this._root && this._root.parentNode) this._root.parentNode.removeChild(this._root);
    this._root = null;
  };
  PaymentElement.prototype.destroy = PaymentElement.prototype.unmount;
  PaymentElement.prototype.focus = function () { if (this._root) this._inputs.number.focus(); };
  PaymentElement.prototype.clear = function () {
    var self = this;
    Object.keys(this._inputs).forEach(function (k) { self._inputs[k].value = ""; self._show(k, null); });
    this._touched = {};
  };
  PaymentElement.prototype.update = function (options) {
    for (var k in options) this._options[k] = options[k];
  };

  PaymentElement.prototype.values = function () {
    var v = {};
    for (var k in this._inputs) v[k] = this._inputs[k].value;
    v.number = (v.number || "").replace(/\s+/g, "");
    return v;
  };

  PaymentElement.prototype._format = function (name) {
    var input = this._inputs[name];
    if (name === "number") {
      var digits = input.value.replace(/\D/g, "").slice(0, 19);
      input.value = digits.replace(/(\d{4})(?=\d)/g, "$1 ");
    } else if (name === "expiry") {
      var d = input.value.replace(/\D/g, "").slice(0, 4);
      input.value = d.length > 2 ? d.slice(0, 2) + " / " + d.slice(2) : d;
    } else if (name === "cvc") {
      input.value = input.value.replace(/\D/g, "").slice(0, 4);
    }
  };

  PaymentElement.prototype._check = function (name) {
    return CHECKS[name](this._inputs[name].value, this);
  };

  PaymentElement.prototype._show = function (name, problem) {
    this._errors[name].textContent = problem ? problem[1] : "";
    this._inputs[name].setAttribute("aria-invalid", problem ? "true" : "false");
  };

  PaymentElement.prototype._changed = function (name, blurred) {
    var problem = this._check(name);
    // Like Stripe: "incomplete" only once the field is left; "invalid" as soon as it is known.
    var visible = problem && (blurred || this._touched[name] || !/^incomplete/.test(problem[0])) ? problem : null;
    if (!problem || visible) this._show(name, visible);
    var self = this, complete = true, empty = true, firstError;
    FIELDS.forEach(function (f) {
      if (self._check(f[0])) complete = false;
      if (self._inputs[f[0]].value) empty = false;
      if (!firstError && self._errors[f[0]].textContent) {
        firstError = { type: "validation_error", code: self._check(f[0])[0], message: self._errors[f[0]].textContent };
      }
    });
    this._emit("change", { elementType: "payment", complete: complete, empty: empty, value: { type: "card" }, error: firstError });
  };

  PaymentElement.prototype._validateAll = function () {
    var self = this, first = null;
    FIELDS.forEach(function (f) {
      var problem = self._check(f[0]);
      self._touched[f[0]] = true;
      self._show(f[0], problem);
      if (problem && !first) first = { type: "validation_error", code: problem[0], message: problem[1] };
    });
    return first;
  };

  function Elements(stripe, options) {
    this._stripe = stripe;
    this._clientSecret = options && options.clientSecret;
    this._appearance = options && options.appearance;
    this._element = null;
  }
  Elements.prototype.create = function (type, options) {
    if (type !== "payment") throw new Error("stripe_sandbox: only elements.create('payment') is supported");
    this._element = new PaymentElement(this, options);
    return this._element;
  };
  Elements.prototype.getElement = function (type) { return type === "payment" ? this._element : null; };
  Elements.prototype.update = function (options) {
    if (options && options.appearance) this._appearance = options.appearance;
  };
  Elements.prototype.submit = function () {
    var error = this._element ? this._element._validateAll() : { type: "validation_error", message: "No element mounted." };
    return Promise.resolve(error ? { error: error } : {});
  };

  function StripeClient(key, options) {
    if (!/^pk_test_/.test(String(key))) throw new Error("stripe_sandbox: a pk_test_ publishable key is required");
    this._key = key;
    this._account = options && options.stripeAccount;
  }

  StripeClient.prototype._request = function (method, path, params, json) {
    var headers = { Authorization: "Bearer " + this._key };
    if (this._account) headers["Stripe-Account"] = this._account;
    var url = API + path, body;
    if (json) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(params);
    } else if (method === "GET") {
      url += "?" + form(params);
    } else {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      body = form(params);
    }
    return fetch(url, { method: method, headers: headers, body: body }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }, function () {
      return { ok: false, data: { error: { type: "api_connection_error", message: "We could not reach Stripe. Check your connection and try again." } } };
    });
  };

  StripeClient.prototype.elements = function (options) { return new Elements(this, options || {}); };

  StripeClient.prototype.retrievePaymentIntent = function (clientSecret) {
    return this._request("GET", "/v1/payment_intents/" + intentId(clientSecret), { client_secret: clientSecret })
      .then(function (r) { return r.ok ? { paymentIntent: r.data } : { error: r.data.error }; });
  };

  StripeClient.prototype._challenge = function (pi, clientSecret) {
    var self = this;
    return new Promise(function (resolve) {
      injectCss();
      var dialog = document.createElement("dialog");
      dialog.className = "sbx-3ds";
      dialog.setAttribute("aria-labelledby", "sbx-3ds-title");
      dialog.innerHTML = '<h2 id="sbx-3ds-title">3D Secure 2 Test Page</h2>' +
        "<p>This is a test authentication. Complete it to authorise the payment, or fail it to see a declined authentication.</p>" +
        '<p><button type="button" value="complete">Complete</button><button type="button" value="fail">Fail</button></p>';
      function finish(outcome) {
        dialog.close();
        dialog.parentNode.removeChild(dialog);
        self._request("POST", "/_sandbox/three_d_secure/" + pi.id, { client_secret: clientSecret, outcome: outcome }, true)
          .then(resolve);
      }
      dialog.querySelectorAll("button").forEach(function (b) {
        b.addEventListener("click", function () { finish(b.value); });
      });
      dialog.addEventListener("cancel", function (e) { e.preventDefault(); finish("fail"); });
      document.body.appendChild(dialog);
      dialog.showModal();
      dialog.querySelector("button").focus();
    });
  };

  function failed(pi) {
    var err = {};
    for (var k in pi.last_payment_error) err[k] = pi.last_payment_error[k];
    err.payment_intent = pi;
    return { error: err };
  }

  StripeClient.prototype.confirmPayment = function (opts) {
    var self = this, elements = opts && opts.elements;
    var params = (opts && opts.confirmParams) || {};
    var element = elements && elements._element;
    if (!element || !element._root) {
      return Promise.resolve({ error: { type: "validation_error", message: "Mount a Payment Element before calling confirmPayment." } });
    }
    var invalid = element._validateAll();
    if (invalid) return Promise.resolve({ error: invalid });
    var clientSecret = elements._clientSecret, v = element.values();
    var exp = v.expiry.replace(/\s+/g, "").split("/");
    var pmParams = {
      type: "card",
      card: { number: v.number, exp_month: +exp[0], exp_year: 2000 + +exp[1], cvc: v.cvc },
      billing_details: { address: { postal_code: v.postal }, email: params.receipt_email }
    };
    return self._request("POST", "/v1/payment_methods", pmParams).then(function (r) {
      if (!r.ok) return { error: r.data.error };
      var confirm = { client_secret: clientSecret, payment_method: r.data.id, receipt_email: params.receipt_email, return_url: params.return_url, use_stripe_sdk: "true" };
      return self._request("POST", "/v1/payment_intents/" + intentId(clientSecret) + "/confirm", confirm);
    }).then(function (r) {
      if (r.error) return r;
      if (!r.ok) return { error: r.data.error };
      var pi = r.data;
      if (pi.status !== "requires_action") return { paymentIntent: pi };
      return self._challenge(pi, clientSecret).then(function (c) {
        if (!c.ok) return { error: c.data.error };
        return c.data.status === "requires_payment_method" ? failed(c.data) : { paymentIntent: c.data };
      });
    }).then(function (result) {
      var pi = result.paymentIntent;
      if (pi && opts.redirect !== "if_required" && params.return_url) {
        var sep = params.return_url.indexOf("?") < 0 ? "?" : "&";
        window.location.assign(params.return_url + sep + "payment_intent=" + pi.id +
          "&payment_intent_client_secret=" + encodeURIComponent(clientSecret) + "&redirect_status=" + pi.status);
        return new Promise(function () {});  // the page is going away, as with Stripe.js
      }
      return result;
    });
  };

  window.Stripe = function (key, options) { return new StripeClient(key, options); };
  window.Stripe.version = 3;
})();
