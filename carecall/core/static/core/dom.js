// Finding the elements a script needs. A missing one is a template bug: say which, at once,
// instead of failing later on `null`.

/**
 * The first element matching `selector` inside `root`, typed as `kind` (HTMLElement unless
 * told), or an error naming the selector.
 * @template {Element} [T=HTMLElement]
 * @param {ParentNode} root
 * @param {string} selector
 * @param {{ new (...args: any[]): T }} [kind]
 * @returns {T}
 */
export function one(root, selector, kind) {
  const found = root.querySelector(selector);
  const wanted = kind || HTMLElement;
  if (!(found instanceof wanted)) throw new Error(`${selector}: no such ${wanted.name} on this page`);
  return /** @type {T} */ (found);
}

/**
 * Like one(), or null when nothing matches.
 * @template {Element} [T=HTMLElement]
 * @param {ParentNode} root
 * @param {string} selector
 * @param {{ new (...args: any[]): T }} [kind]
 * @returns {T | null}
 */
export function maybe(root, selector, kind) {
  return root.querySelector(selector) ? one(root, selector, kind) : null;
}

/**
 * Say `text` through a live region, again even when it is the same text as last time.
 * @param {HTMLElement | null} region
 * @param {string} text
 */
export function say(region, text) {
  if (!region) return;
  region.textContent = "";
  window.setTimeout(() => { region.textContent = text; }, 30);
}
