// ESLint (flat config) for the browser scripts under carecall/*/static/: ES modules run as they
// are written (no bundler), in the browser, with Django's JavaScript catalog's window.gettext.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: [".venv/**", "node_modules/**", "var/**", "stripe_sandbox/**", "bench/**", "e2e/**"] },
  js.configs.recommended,
  {
    files: ["carecall/**/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      eqeqeq: ["error", "always"],
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "no-var": "error",
      "prefer-const": "error",
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        {
          selector: ":function CallExpression[callee.name='setInterval'], :function CallExpression[callee.property.name='setInterval']",
          message: "A repeating timer made inside a function is made again on every call (a reconnect): make it once at module level, or keep its id and clear it.",
        },
      ],
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
];
