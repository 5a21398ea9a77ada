// The receipt page's Print button (no inline script under the page's CSP).
const button = document.querySelector("[data-print]");
if (button) button.addEventListener("click", () => window.print());
