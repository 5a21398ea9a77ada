// Translations for our scripts come from Django's JavaScript catalog (/jsi18n/, loaded by
// base.html before any module). Named placeholders: t("%(name)s joined.", {name}).
export function t(text, values) {
  const translated = window.gettext ? window.gettext(text) : text;
  if (!values) return translated;
  return translated.replace(/%\(([a-z_]+)\)s/g, (_, key) => (key in values ? String(values[key]) : ""));
}
