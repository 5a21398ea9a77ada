/* Inside the sandbox's 3-D Secure challenge frame (the host's Stripe.js shows it in a modal over
   the page). Complete or Fail finishes the challenge at the sandbox; Escape, or the host's own
   Escape, cancels it, which fails the authentication as closing Stripe's challenge does. */
(function () {
  "use strict";
  var channel = window.sbxChannel;
  var main = document.getElementById("tds");
  var status = document.getElementById("status");
  var buttons = main.querySelectorAll("button");
  var config = null;
  var finished = false;

  function finish(outcome) {
    if (!config || finished) return;
    finished = true;
    buttons.forEach(function (b) { b.disabled = true; });
    status.textContent = outcome === "complete" ? "Authenticating…" : "Authentication failed.";
    channel.request(config, "POST", "/_sandbox/three_d_secure/" + encodeURIComponent(config.intent),
      { client_secret: config.clientSecret, outcome: outcome }, true).then(function (r) {
      channel.post("done", { ok: r.ok, data: r.data });
    });
  }

  buttons.forEach(function (b) { b.addEventListener("click", function () { finish(b.value); }); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); finish("fail"); }
  });

  channel.on("init", function (d) {
    config = { key: String(d.key), account: d.account || "", clientSecret: String(d.clientSecret || ""), intent: String(d.intent || "") };
    main.hidden = false;
    channel.reportHeight();
    buttons[0].focus();
    channel.post("ready");
  });
  channel.on("focus", function () { if (!finished) buttons[0].focus(); });
  channel.on("cancel", function () { finish("fail"); });

  if (!channel.trusted) {
    document.body.textContent = "This frame only works inside a page that loaded Stripe.js.";
    return;
  }
  channel.post("loaded");
})();
