// Text for every script of ours (calls, payments). Django's JavaScript catalog (/jsi18n/,
// loaded by base.html before any module) defines window.gettext. Every string is written as
// gettext("literal") so that `makemessages -d djangojs` finds it; format() fills named
// placeholders afterwards: format(gettext("%(name)s joined."), { name }).
/** @param {string} text */
export const gettext = (text) => (window.gettext ? window.gettext(text) : text);

/**
 * @param {string} text
 * @param {Record<string, unknown>} values
 */
export function format(text, values) {
  return text.replace(/%\(([a-z_]+)\)s/g, (_, /** @type {string} */ key) => (key in values ? String(values[key]) : ""));
}
