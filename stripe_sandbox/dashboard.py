"""A read-only stand-in for the Stripe Dashboard's payment pages, so that "View in Stripe
dashboard" links from an app on the sandbox open something real:

- `GET /dashboard/{acct}/payments` - that account's PaymentIntents, newest first, with links;
- `GET /dashboard/{acct}/payments/{pi}` - one payment: amount, status, description, card,
  charges (failed attempts too), refunds, metadata and the payment's events.

Plain HTML from the state, under a strict CSP (its stylesheet is a file, no script at all).
"""

from __future__ import annotations

import copy
import re
import time
from html import escape
from pathlib import Path

from .currencies import format_amount
from .sandbox import Reply, Sandbox
from .state import Obj

CSS = Path(__file__).resolve().parent / "shim" / "dashboard.css"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
HTML = "text/html; charset=utf-8"


def handle(sandbox: Sandbox, method: str, path: str) -> Reply:
    if method != "get":
        return _page(405, "Not allowed", "<p>The sandbox dashboard is read-only.</p>")
    if path == "/dashboard/dashboard.css":
        return Reply(200, CSS.read_text(), {"Cache-Control": "no-cache"}, "text/css; charset=utf-8")
    m = re.fullmatch(r"/dashboard/(acct_\w+)/payments/?", path)
    if m:
        return _payments(sandbox, m.group(1))
    m = re.fullmatch(r"/dashboard/(acct_\w+)/payments/(pi_\w+)/?", path)
    if m:
        return _payment(sandbox, m.group(1), m.group(2))
    return _page(404, "Page not found", f"<p>No sandbox dashboard page at {escape(path)}.</p>")


def _page(status: int, title: str, body: str, account: Obj | None = None) -> Reply:
    where = ""
    if account is not None:
        name = account["business_profile"]["name"] or account["id"]
        where = (
            f'<p><a href="/dashboard/{escape(account["id"])}/payments">{escape(name)}</a> '
            f'<span class="muted">{escape(account["id"])}</span></p>'
        )
    text = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - Stripe sandbox dashboard</title>
<link rel="stylesheet" href="/dashboard/dashboard.css"></head>
<body><header><p class="brand">Stripe sandbox dashboard <span class="badge">Test mode</span></p>
{where}</header><main><h1>{escape(title)}</h1>{body}</main></body></html>"""
    return Reply(status, text, {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}, HTML)


def _when(timestamp: int | None) -> str:
    if not timestamp:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def _money(amount: int, currency: str) -> str:
    return f"{format_amount(amount, currency.lower()).rsplit(' ', 1)[0]} {currency.upper()}"


def _card(charge: Obj | None) -> str:
    card = ((charge or {}).get("payment_method_details") or {}).get("card") or {}
    if not card:
        return "—"
    return (
        f"{escape(str(card.get('brand', '')).title())} •••• {escape(str(card.get('last4', '')))}"
        f" (expires {card.get('exp_month', 0):02d}/{card.get('exp_year', '')})"
    )


def status_label(pi: Obj, charge: Obj | None) -> str:
    """Status as the Dashboard's payments list words it."""
    status = pi["status"]
    if status == "succeeded":
        if charge and charge.get("refunded"):
            return "Refunded"
        if charge and charge.get("amount_refunded"):
            return "Partially refunded"
        return "Succeeded"
    if status == "canceled":
        return "Canceled"
    if status == "processing":
        return "Processing"
    if status == "requires_payment_method" and pi.get("last_payment_error"):
        return "Failed"
    return "Incomplete"


def _table(caption: str, head: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f"<h2>{escape(caption)}</h2><p>{escape(empty)}</p>"
    ths = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<h2 id="{escape(caption.lower())}">{escape(caption)}</h2>'
        f'<div class="scroll"><table aria-labelledby="{escape(caption.lower())}">'
        f"<thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table></div>"
    )


def _snapshot(sandbox: Sandbox, account: str) -> tuple[Obj | None, list[Obj], list[Obj]]:
    with sandbox.state.lock:
        acct = copy.deepcopy(sandbox.state.accounts.get(account))
        # insertion order: what happened first comes first where timestamps tie
        objects = copy.deepcopy(list(sandbox.state.objects.get(account, {}).values()))
    events = [o for o in objects if o.get("object") == "event"]
    return acct, objects, events


def _payments(sandbox: Sandbox, account: str) -> Reply:
    acct, objects, _ = _snapshot(sandbox, account)
    if acct is None:
        return _page(404, "No such account", f"<p>No account {escape(account)}.</p>")
    charges = {o["id"]: o for o in objects if o.get("object") == "charge"}
    intents = sorted(
        (o for o in objects if o.get("object") == "payment_intent"),
        key=lambda o: (o["created"], o["id"]),
        reverse=True,
    )
    rows = [
        [
            f'<a href="/dashboard/{escape(account)}/payments/{escape(pi["id"])}">'
            f"{escape(_money(pi['amount'], pi['currency']))}</a>",
            escape(status_label(pi, charges.get(pi.get("latest_charge") or ""))),
            escape(pi.get("description") or "—"),
            escape(pi["id"]),
            escape(_when(pi["created"])),
        ]
        for pi in intents
    ]
    body = _table(
        "Payments", ["Amount", "Status", "Description", "ID", "Created"], rows, "No payments yet."
    )
    return _page(200, "Payments", body, acct)


def _payment(sandbox: Sandbox, account: str, pi_id: str) -> Reply:
    acct, objects, events = _snapshot(sandbox, account)
    if acct is None:
        return _page(404, "No such account", f"<p>No account {escape(account)}.</p>")
    pi = next((o for o in objects if o["id"] == pi_id and o["object"] == "payment_intent"), None)
    if pi is None:
        body = f"<p>No payment {escape(pi_id)} in this account.</p>"
        return _page(404, "No such payment", body, acct)
    cur = pi["currency"]
    charges = sorted(
        (o for o in objects if o.get("object") == "charge" and o.get("payment_intent") == pi_id),
        key=lambda o: o["created"],
    )
    refunds = sorted(
        (o for o in objects if o.get("object") == "refund" and o.get("payment_intent") == pi_id),
        key=lambda o: o["created"],
    )
    latest = next((c for c in charges if c["id"] == pi.get("latest_charge")), None)
    status = status_label(pi, latest)
    refunded = sum(r["amount"] for r in refunds if r.get("status") == "succeeded")
    error = pi.get("last_payment_error") or {}
    fee = pi.get("application_fee_amount")
    descriptor = (latest or {}).get("calculated_statement_descriptor") or "—"
    facts = [
        ("Amount", escape(_money(pi["amount"], cur))),
        ("Status", escape(status)),
        ("Description", escape(pi.get("description") or "—")),
        ("Payment method", _card(latest)),
        ("Refunded", escape(_money(refunded, cur)) if refunded else "—"),
        ("Receipt email", escape(pi.get("receipt_email") or "—")),
        ("Statement descriptor", escape(descriptor)),
        ("Application fee", escape(_money(fee, cur)) if fee else "—"),
        ("Created", escape(_when(pi["created"]))),
        ("ID", escape(pi["id"])),
    ]
    if error:
        problem = f"{error.get('message', '')} ({error.get('code', '')})"
        facts.insert(2, ("Last error", escape(problem)))
    dl = "".join(f"<div><dt>{escape(k)}</dt><dd>{v}</dd></div>" for k, v in facts)
    body = (
        f'<p class="lede">{escape(_money(pi["amount"], cur))} '
        f'<span class="status">{escape(status)}</span></p>'
    )
    body += f'<dl class="facts">{dl}</dl>'
    body += _table(
        "Charges",
        ["ID", "Amount", "Status", "Card", "Outcome", "Created"],
        [
            [
                escape(c["id"]),
                escape(_money(c["amount"], c["currency"])),
                escape(c["status"]),
                _card(c),
                escape(c.get("failure_message") or c["outcome"].get("seller_message") or ""),
                escape(_when(c["created"])),
            ]
            for c in charges
        ],
        "No charges yet.",
    )
    body += _table(
        "Refunds",
        ["ID", "Amount", "Status", "Reason", "Created"],
        [
            [
                escape(r["id"]),
                escape(_money(r["amount"], r["currency"])),
                escape(r.get("status") or ""),
                escape(r.get("reason") or "—"),
                escape(_when(r["created"])),
            ]
            for r in refunds
        ],
        "No refunds.",
    )
    body += _table(
        "Metadata",
        ["Key", "Value"],
        [[escape(k), escape(str(v))] for k, v in sorted((pi.get("metadata") or {}).items())],
        "No metadata.",
    )
    related = {pi_id, *(c["id"] for c in charges), *(r["id"] for r in refunds)}
    mine = sorted(
        (e for e in events if (e.get("data") or {}).get("object", {}).get("id") in related),
        key=lambda e: e["created"],
    )
    body += _table(
        "Events",
        ["Event", "ID", "Created"],
        [[escape(e["type"]), escape(e["id"]), escape(_when(e["created"]))] for e in mine],
        "No events.",
    )
    return _page(200, f"Payment {pi_id}", body, acct)
