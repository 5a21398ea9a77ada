// What our pages define on window besides the DOM (for tsc --checkJs over the static scripts).
interface Window {
  /** Django's JavaScript catalog (/jsi18n/, loaded by base.html before any module). */
  gettext?: (text: string) => string;
  /** Stripe.js, loaded by payments.js when a payer opens a request. */
  Stripe?: (publishableKey: string, options?: { stripeAccount?: string }) => any;
  /** The call page's state, for the browser tests only (rendered when CALL_TEST_HOOKS is on). */
  carecallCall?: object;
}
