"""What orgs announces, for the apps above it to act on (the audit trail records members).

`member_changed` is sent inside the change's transaction, so a receiver's writes exist only if
the change does. Arguments: `change` ("added", "role_changed" or "removed"), `actor` (a User
or None), `organisation`, `clinic` (None for an organisation admin), `user` (the member) and
`summary` (one line for people).
"""

from __future__ import annotations

from django.dispatch import Signal

member_changed = Signal()

# Sent by clinic_update before a clinic's currency changes, with `clinic` (as stored) and
# `currency` (the new one). A receiver refuses the change by raising ServiceError
# (payments: not while a Stripe account is connected).
clinic_currency_changing = Signal()
