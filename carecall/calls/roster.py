"""Who is in a call, as one websocket knows it: kept from the welcome and the call's events.

A relayed signal is checked against this instead of the database (three queries per message
before). It answers "yes" only when the events it has seen say so; anything else is a "not
sure" that the consumer settles with the database (selectors.participant_is_present), so a
missed event can delay a signal by one query, never let one through to someone who left: their
own websockets close when they leave (`participant_left`) and when the call ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PATIENT = "patient"
IN_CALL = "in_call"


@dataclass
class Roster:
    me: str
    my_kind: str
    status: str
    # Present people other than me: id -> kind.
    others: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_welcome(cls, welcome: dict[str, Any]) -> Roster:
        you = welcome["you"]
        return cls(
            me=you["id"],
            my_kind=you["kind"],
            status=welcome["visit"]["status"],
            others={p["id"]: p["kind"] for p in welcome["participants"] if p["id"] != you["id"]},
        )

    def _present(self, kind: str) -> bool:
        # A patient is in the call only while it is going (not waiting, not on hold).
        return kind != PATIENT or self.status == IN_CALL

    def may_signal(self, to: str) -> bool:
        """True only when the events seen so far say both of us are in the call."""
        kind = self.others.get(to)
        return kind is not None and self._present(self.my_kind) and self._present(kind)

    def learn(self, to: str, kind: str) -> None:
        """The database said `to` is present (a "not sure" settled)."""
        if to != self.me:
            self.others[to] = kind

    def apply(self, payload: dict[str, Any]) -> None:
        """Follow one event of the call group."""
        kind = payload.get("type")
        if kind == "participant_joined":
            person = payload["participant"]
            if person["id"] != self.me:
                self.others[person["id"]] = person["kind"]
        elif kind == "participant_left":
            self.others.pop(payload["id"], None)
        elif kind == "visit_status":
            self.status = payload["status"]
            if payload["status"] == IN_CALL:
                self.others = {
                    p["id"]: p["kind"] for p in payload["participants"] if p["id"] != self.me
                }
        elif kind == "ended":
            self.status = "done"
            self.others.clear()
