"""Reading a Stripe webhook body once its signature holds: what the inbox needs of it.

A signed body can still be malformed (an `object` that is a list, no `id`, an array, not JSON,
not UTF-8, nested past Python's recursion limit, a 5,000-digit number): each is refused with a
reason (the view answers 400), never a 500. The body itself is kept as the text Stripe sent
(`StripeEvent.body`), so no content inside it (a `\\u0000` PostgreSQL's jsonb refuses) can fail
the insert; only the short fields the inbox indexes on are checked here."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

from carecall.core.text import has_control_characters
from carecall.payments.gateway import PaymentGatewayError, WebhookEvent

# Stripe's ids and types are short ASCII words; these bound what the inbox's columns hold.
EVENT_ID_MAX = 80
EVENT_TYPE_MAX = 80
ACCOUNT_MAX = 64
# Unix seconds up to the year 9999: a larger `created` is no moment Stripe could have sent.
CREATED_MAX = 253_402_300_799


def webhook_signature_timestamp(header: str) -> int:
    """The `t=` of a Stripe-Signature header (the first, as Stripe's SDK reads it); 0 if none."""
    for item in header.split(","):
        key, _sep, value = item.partition("=")
        if key.strip() == "t":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _refuse(reason: str) -> PaymentGatewayError:
    return PaymentGatewayError(_("malformed webhook: %(reason)s") % {"reason": reason})


def _word(event: dict[str, Any], key: str, limit: int, *, required: bool) -> str:
    value = event.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value:
        raise _refuse(_("“%(key)s” must be a non-empty string") % {"key": key})
    # Controls, and lone surrogates ("\udc00" in the JSON), which no column can store.
    if len(value) > limit or has_control_characters(value):
        raise _refuse(
            _("“%(key)s” must be at most %(limit)d characters, without control characters")
            % {"key": key, "limit": limit}
        )
    return value


def webhook_body_text(payload: bytes) -> str:
    """The body as text (Stripe signs UTF-8 text); refused with a reason if it is not UTF-8."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(_("the body is not UTF-8")) from None


def webhook_event_parse(text: str) -> WebhookEvent:
    """The event in a (verified) body; raises PaymentGatewayError with the reason if malformed."""
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        raise _refuse(_("the body is not JSON")) from None
    if not isinstance(event, dict):
        raise _refuse(_("the body is not a JSON object"))
    event_id = _word(event, "id", EVENT_ID_MAX, required=True)
    event_type = _word(event, "type", EVENT_TYPE_MAX, required=True)
    account = _word(event, "account", ACCOUNT_MAX, required=False)
    created = event.get("created", 0)
    if isinstance(created, bool) or not isinstance(created, int) or not 0 <= created <= CREATED_MAX:
        raise _refuse(_("“created” must be a whole number of seconds"))
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise _refuse(_("“data.object” must be a JSON object"))
    return WebhookEvent(
        id=event_id,
        type=event_type,
        account=account or None,
        created=created,
        object=obj,
        body=text,
    )
