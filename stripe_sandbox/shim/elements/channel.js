/* The frame's end of its postMessage channel with the host page's Stripe.js (stripe.js, /v3/).
   The host names a channel id and its own origin in the frame URL's #fragment. Messages are
   sent only to that origin, and taken only from the parent window, from that origin, on that
   channel; where the browser tells the real parent's origin (location.ancestorOrigins), a
   fragment naming another origin makes the frame refuse to talk at all. */
(function () {
  "use strict";
  var hash = new URLSearchParams(location.hash.slice(1));
  var channel = hash.get("channel") || "";
  var parentOrigin = hash.get("origin") || "";
  var ancestors = location.ancestorOrigins;
  var trusted = window.parent !== window && /^https?:\/\/[^/\s]+$/.test(parentOrigin) &&
    !!channel && (!ancestors || !ancestors.length || ancestors[0] === parentOrigin);
  var handlers = {};

  window.addEventListener("message", function (event) {
    if (!trusted || event.source !== window.parent || event.origin !== parentOrigin) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.sbx !== "stripe_sandbox" || data.channel !== channel) return;
    if (Object.prototype.hasOwnProperty.call(handlers, data.type)) handlers[data.type](data);
  });

  window.sbxChannel = {
    trusted: trusted,
    on: function (type, handler) { handlers[type] = handler; },
    post: function (type, data) {
      if (!trusted) return;
      var message = {};
      for (var k in data || {}) message[k] = data[k];
      message.sbx = "stripe_sandbox";
      message.channel = channel;
      message.type = type;
      window.parent.postMessage(message, parentOrigin);
    },
    // The frame is as tall as its content; the host sets the iframe's height from this.
    reportHeight: function () {
      var post = this.post;
      var last = -1;
      function send() {
        var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
        if (height !== last) { last = height; post("height", { height: height }); }
      }
      if (window.ResizeObserver) new ResizeObserver(send).observe(document.body);
      window.addEventListener("resize", send);
      send();
    },
    // Calls to the sandbox API, from the sandbox's own origin, as Stripe.js's frames make them.
    request: function (config, method, path, params, json) {
      var headers = { Authorization: "Bearer " + config.key };
      if (config.account) headers["Stripe-Account"] = config.account;
      var url = path, body;
      if (json) {
        headers["Content-Type"] = "application/json";
        body = JSON.stringify(params);
      } else if (method === "GET") {
        url += "?" + form(params);
      } else {
        headers["Content-Type"] = "application/x-www-form-urlencoded";
        body = form(params);
      }
      return fetch(url, { method: method, headers: headers, body: body, credentials: "omit" }).then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, data: data }; });
      }).catch(function () {
        return { ok: false, data: { error: { type: "api_connection_error", message: "We could not reach Stripe. Check your connection and try again." } } };
      });
    }
  };

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
})();
