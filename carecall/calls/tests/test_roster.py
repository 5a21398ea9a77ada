"""The roster a call socket keeps from its welcome and the call's events (roster.py): it says
"yes" only when the events say both people are in the call; anything else goes to the
database (the consumer's `_may_signal`)."""

from __future__ import annotations

from carecall.calls.roster import Roster


def _person(pid: str, kind: str) -> dict[str, object]:
    return {"id": pid, "kind": kind}


def _welcome(kind: str = "clinician", status: str = "in_call") -> dict[str, object]:
    return {
        "you": _person("me", kind),
        "visit": {"status": status},
        "participants": [_person("pat", "patient"), _person("gus", "guest")],
    }


def test_the_welcome_says_who_may_be_signalled() -> None:
    roster = Roster.from_welcome(_welcome())
    assert roster.may_signal("pat") and roster.may_signal("gus")
    assert not roster.may_signal("me") and not roster.may_signal("stranger")


def test_hold_keeps_the_patient_out_and_resume_brings_them_back() -> None:
    roster = Roster.from_welcome(_welcome())
    roster.apply({"type": "visit_status", "status": "on_hold", "participants": []})
    assert not roster.may_signal("pat") and roster.may_signal("gus")
    roster.apply(
        {
            "type": "visit_status",
            "status": "in_call",
            "participants": [_person("me", "clinician"), _person("pat", "patient")],
        }
    )
    assert roster.may_signal("pat") and not roster.may_signal("gus")


def test_a_held_patient_may_signal_nobody() -> None:
    roster = Roster.from_welcome(_welcome(kind="patient", status="on_hold"))
    roster.others = {"doc": "clinician"}
    assert not roster.may_signal("doc")


def test_joins_and_leaves_are_followed() -> None:
    roster = Roster.from_welcome(_welcome())
    roster.apply({"type": "participant_left", "id": "gus"})
    assert not roster.may_signal("gus")
    roster.apply({"type": "participant_joined", "participant": _person("gus", "guest")})
    assert roster.may_signal("gus")
    roster.apply({"type": "ended", "by": "Dr Chris Lee"})
    assert not roster.may_signal("gus") and not roster.may_signal("pat")


def test_what_the_database_settled_is_learnt_but_never_myself() -> None:
    roster = Roster.from_welcome(_welcome())
    roster.learn("late", "guest")
    roster.learn("me", "clinician")
    assert roster.may_signal("late") and not roster.may_signal("me")
