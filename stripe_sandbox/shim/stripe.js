/* Stripe.js stand-in served by stripe_sandbox at /v3/. Plain ES5-ish JS, no build step.
   Implements the subset CareCall's payment page uses; see stripe_sandbox/README.md.

   As with Stripe.js, the Payment Element is a cross-origin <iframe> from the sandbox's origin
   (/elements/payment.html) and 3-D Secure a modal iframe (/elements/three-d-secure.html): the
   card fields, their values and the confirm call stay inside the frame. This file and the frames
   talk only by postMessage, each naming the other's exact origin and checking it on receipt. */
(function () {
  "use strict";
  var script = document.currentScript;
  var API = script ? new URL(script.src).origin : window.location.origin;
  var ENVELOPE = "stripe_sandbox";
  var uid = 0;
  var channels = {};

  var CSS = ".sbx-3ds{padding:0;border:0;border-radius:8px;width:min(28rem,calc(100vw - 2rem));" +
    "max-width:calc(100vw - 2rem);max-height:calc(100dvh - 2rem);overflow:auto;background:#fff;" +
    "box-shadow:0 10px 40px rgba(0,0,0,.3)}" +
    ".sbx-3ds::backdrop{background:rgba(0,0,0,.45)}" +
    ".sbx-frame{border:0;margin:0;padding:0;width:1px;min-width:100%;display:block;overflow:hidden;" +
    "color-scheme:light;background:transparent}";

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

  // Messages from our frames only: the sandbox's origin, the very window we made, our channel.
  window.addEventListener("message", function (event) {
    if (event.origin !== API) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.sbx !== ENVELOPE) return;
    var ch = channels[data.channel];
    if (!ch || !ch.iframe.contentWindow || event.source !== ch.iframe.contentWindow) return;
    ch.receive(data);
  });

  // One iframe from the sandbox origin and its message channel.
  function Frame(page, title, receive) {
    injectCss();
    var id = "sbx" + (++uid) + "_" + Math.random().toString(36).slice(2);
    var iframe = document.createElement("iframe");
    iframe.name = "__privateStripeFrame" + uid;
    iframe.title = title;
    iframe.className = "sbx-frame";
    iframe.setAttribute("frameborder", "0");
    iframe.setAttribute("scrolling", "no");
    iframe.setAttribute("allow", "payment");
    iframe.style.height = "0px";
    iframe.src = API + "/elements/" + page + "#" + new URLSearchParams({ channel: id, origin: location.origin });
    this.id = id;
    this.iframe = iframe;
    this.loaded = false;
    this._queue = [];
    var self = this;
    this.receive = function (data) {
      if (data.type === "loaded") {
        self.loaded = true;
        var queued = self._queue;
        self._queue = [];
        queued.forEach(function (m) { self.send(m.type, m.data); });
      } else if (data.type === "height" && typeof data.height === "number") {
        iframe.style.height = Math.max(0, Math.ceil(data.height)) + "px";
      }
      receive(data);
    };
    channels[id] = this;
  }
  Frame.prototype.send = function (type, data) {
    if (!this.loaded) { this._queue.push({ type: type, data: data }); return; }
    var message = {};
    for (var k in data || {}) message[k] = data[k];
    message.sbx = ENVELOPE;
    message.channel = this.id;
    message.type = type;
    this.iframe.contentWindow.postMessage(message, API);
  };
  Frame.prototype.remove = function () {
    delete channels[this.id];
    if (this.iframe.parentNode) this.iframe.parentNode.removeChild(this.iframe);
  };

  function intentId(clientSecret) { return String(clientSecret || "").split("_secret_")[0]; }

  // -- the Payment Element ----------------------------------------------------------------
  function PaymentElement(elements, options) {
    this._elements = elements;
    this._options = options || {};
    this._handlers = {};
    this._frame = null;
    this._ready = false;
    this._pending = {};
    this._seq = 0;
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
    if (this._frame) this.unmount();
    var self = this, elements = this._elements;
    var frame = new Frame("payment.html", "Secure payment input frame", function (data) { self._receive(data); });
    var defaults = this._options.defaultValues || {};
    var address = (defaults.billingDetails && defaults.billingDetails.address) || {};
    frame.send("init", {
      key: elements._stripe._key,
      account: elements._stripe._account,
      clientSecret: elements._clientSecret,
      appearance: elements._appearance || null,
      locale: elements._locale || "en",
      country: address.country || "AU"
    });
    var wrap = document.createElement("div");
    wrap.className = "__PrivateStripeElement";
    wrap.appendChild(frame.iframe);
    host.appendChild(wrap);
    this._wrap = wrap;
    this._frame = frame;
    return this;
  };

  PaymentElement.prototype._receive = function (data) {
    var type = data.type;
    if (type === "ready") { this._ready = true; this._emit("ready", { elementType: "payment" }); }
    else if (type === "change" && data.event) this._emit("change", data.event);
    else if (type === "focus" || type === "blur") this._emit(type, { elementType: "payment" });
    else if (type === "submit") {
      var owner = this._wrap && this._wrap.closest("form");
      if (owner && owner.requestSubmit) owner.requestSubmit();
    } else if (type === "reply" && this._pending[data.id]) {
      var resolve = this._pending[data.id];
      delete this._pending[data.id];
      resolve(data.result || {});
    }
  };

  // Ask the frame; it answers with a "reply" carrying the same id.
  PaymentElement.prototype._ask = function (type, data) {
    var self = this;
    if (!this._frame) return Promise.resolve({ error: { type: "validation_error", message: "Mount a Payment Element before calling confirmPayment." } });
    var id = ++this._seq;
    var message = { id: id };
    for (var k in data || {}) message[k] = data[k];
    return new Promise(function (resolve) {
      self._pending[id] = resolve;
      self._frame.send(type, message);
    });
  };

  PaymentElement.prototype.unmount = function () {
    var pending = this._pending;
    this._pending = {};
    Object.keys(pending).forEach(function (id) {
      pending[id]({ error: { type: "invalid_request_error", message: "The Payment Element was unmounted." } });
    });
    if (this._frame) this._frame.remove();
    if (this._wrap && this._wrap.parentNode) this._wrap.parentNode.removeChild(this._wrap);
    this._frame = null;
    this._wrap = null;
    this._ready = false;
  };
  PaymentElement.prototype.destroy = PaymentElement.prototype.unmount;
  PaymentElement.prototype.focus = function () {
    if (!this._frame) return;
    this._frame.iframe.focus();
    this._frame.send("focus");
  };
  PaymentElement.prototype.blur = function () { if (this._frame) this._frame.iframe.blur(); };
  PaymentElement.prototype.clear = function () { if (this._frame) this._frame.send("clear"); };
  PaymentElement.prototype.update = function (options) {
    for (var k in options) this._options[k] = options[k];
  };

  // -- Elements and the client -------------------------------------------------------------
  function Elements(stripe, options) {
    this._stripe = stripe;
    this._clientSecret = options && options.clientSecret;
    this._appearance = options && options.appearance;
    this._locale = options && options.locale;
    this._element = null;
  }
  Elements.prototype.create = function (type, options) {
    if (type !== "payment") throw new Error("stripe_sandbox: only elements.create('payment') is supported");
    this._element = new PaymentElement(this, options);
    return this._element;
  };
  Elements.prototype.getElement = function (type) { return type === "payment" ? this._element : null; };
  Elements.prototype.update = function (options) {
    if (options && options.appearance) {
      this._appearance = options.appearance;
      if (this._element && this._element._frame) this._element._frame.send("appearance", { appearance: options.appearance });
    }
  };
  Elements.prototype.submit = function () {
    if (!this._element || !this._element._frame) {
      return Promise.resolve({ error: { type: "validation_error", message: "No element mounted." } });
    }
    return this._element._ask("validate");
  };

  function StripeClient(key, options) {
    if (!/^pk_test_/.test(String(key))) throw new Error("stripe_sandbox: a pk_test_ publishable key is required");
    this._key = key;
    this._account = options && options.stripeAccount;
  }

  StripeClient.prototype.elements = function (options) { return new Elements(this, options || {}); };

  StripeClient.prototype.retrievePaymentIntent = function (clientSecret) {
    var headers = { Authorization: "Bearer " + this._key };
    if (this._account) headers["Stripe-Account"] = this._account;
    var url = API + "/v1/payment_intents/" + encodeURIComponent(intentId(clientSecret)) +
      "?client_secret=" + encodeURIComponent(clientSecret);
    return fetch(url, { headers: headers, credentials: "omit" }).then(function (r) {
      return r.json().then(function (data) { return r.ok ? { paymentIntent: data } : { error: data.error }; });
    }, function () {
      return { error: { type: "api_connection_error", message: "We could not reach Stripe. Check your connection and try again." } };
    });
  };

  // The challenge: a modal <dialog> over the page holding the sandbox's challenge frame.
  StripeClient.prototype._challenge = function (pi, clientSecret) {
    var self = this;
    return new Promise(function (resolve) {
      injectCss();
      var dialog = document.createElement("dialog");
      dialog.className = "sbx-3ds";
      dialog.setAttribute("aria-label", "3D Secure authentication");
      var done = false;
      var frame = new Frame("three-d-secure.html", "3D Secure authentication", function (data) {
        if (data.type === "loaded") frame.iframe.focus();
        if (data.type === "ready") frame.send("focus");
        if (data.type === "done" && !done) {
          done = true;
          frame.remove();
          dialog.close();
          if (dialog.parentNode) dialog.parentNode.removeChild(dialog);
          resolve({ ok: !!data.ok, data: data.data || {} });
        }
      });
      frame.send("init", { key: self._key, account: self._account, clientSecret: clientSecret, intent: pi.id });
      // Escape while the focus is on the page side of the modal: cancel, as in the frame.
      dialog.addEventListener("cancel", function (e) { e.preventDefault(); frame.send("cancel"); });
      dialog.appendChild(frame.iframe);
      document.body.appendChild(dialog);
      dialog.showModal();
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
    if (!element || !element._frame) {
      return Promise.resolve({ error: { type: "validation_error", message: "Mount a Payment Element before calling confirmPayment." } });
    }
    var clientSecret = elements._clientSecret;
    // The frame validates its fields and makes the one confirm request; we see only the result.
    return element._ask("confirm", {
      params: { receipt_email: params.receipt_email, return_url: params.return_url }
    }).then(function (r) {
      var pi = r.paymentIntent;
      if (!pi || pi.status !== "requires_action") return r;
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
