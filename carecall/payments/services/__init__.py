"""Payments' writes, one module per concern (callers import the module they need):

- `connection`: the clinic's Stripe account (Connect OAuth, change, removal, deauthorization);
- `requests`: payment requests in calls (create, the payer's receipt email, expiry);
- `cancellation`: cancelling unpaid requests (by staff, or swept when the account goes);
- `intents`: what Stripe says about a request's PaymentIntent, applied forward only;
- `receipt_email`: the receipt email (sent, marked sent, resent);
- `refunds`: refunds of paid requests;
- `reconcile`: the periodic job that catches up with Stripe;
- `webhook_processing`: what each stored Stripe event means for us;
- `announce`: the live message to the call after a change.

Rules (docs/payments.md): amounts are integers in minor units and only ever come from our own
record; one PaymentIntent per request (idempotency key = the request's id); Stripe decides what
is paid, through the webhook or a retrieve, whichever comes first; every change is made under a
row lock, moves forward only, and announces itself after commit. No Stripe call is made while
a database transaction is open.
"""
