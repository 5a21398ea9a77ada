"""A patient's stay (Visit) and the people in its call (Participant).

A visit *is* the call's room: the patient enters, waits, is joined by clinicians and perhaps
guests, and the visit ends with the call. Keeping one row for both avoids a second lifecycle that
would have to agree with the first.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from carecall.orgs.models import Clinic


class VisitStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    IN_CALL = "in_call", _("Being seen")
    ON_HOLD = "on_hold", _("On hold")
    DONE = "done", _("Done")


# Which status may follow which; everything else is refused.
VISIT_TRANSITIONS: dict[str, set[str]] = {
    VisitStatus.WAITING: {VisitStatus.IN_CALL, VisitStatus.DONE},
    VisitStatus.IN_CALL: {VisitStatus.ON_HOLD, VisitStatus.WAITING, VisitStatus.DONE},
    VisitStatus.ON_HOLD: {VisitStatus.IN_CALL, VisitStatus.WAITING, VisitStatus.DONE},
    VisitStatus.DONE: set(),
}

MAX_PARTICIPANTS = 6


class Visit(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="visits")
    # SHA-256 of the patient's link token (256 random bits); the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True)
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    status = models.CharField(
        max_length=10, choices=VisitStatus.choices, default=VisitStatus.WAITING
    )
    entered_at = models.DateTimeField(auto_now_add=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    on_hold_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["clinic", "status", "entered_at"])]

    def __str__(self) -> str:
        return f"{self.display_name} at {self.clinic}"

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or str(_("Patient"))


class ParticipantKind(models.TextChoices):
    CLINICIAN = "clinician", _("Clinician")
    PATIENT = "patient", _("Patient")
    GUEST = "guest", _("Guest")


class Participant(models.Model):
    """Someone in a visit's call: its patient, a clinician, or a guest invited by link."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="participants")
    kind = models.CharField(max_length=10, choices=ParticipantKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    display_name = models.CharField(max_length=120, blank=True)
    # Guests: SHA-256 of their single-use invitation link's token.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    # Open websocket connections; 0 means their connection is lost (or they left).
    connections = models.IntegerField(default=0)
    # When their connections last went from 0 to 1, and from 1 to 0. Someone who joined but has
    # not connected since is "joining", not "lost"; a patient gone long enough is abandoned.
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    # Heartbeat: stamped when one of their websockets connects and (at most every
    # SEEN_EVERY, presence.heartbeats) when it pings. A process that crashes never counts
    # its sockets down, so `connections` alone can stay above zero for ever; a count whose
    # owner has not been seen for STALE_AFTER (selectors) is not believed.
    last_seen_at = models.DateTimeField(null=True, blank=True)
    audio_on = models.BooleanField(default=True)
    video_on = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "user"],
                condition=Q(user__isnull=False),
                name="participant_one_per_user_and_visit",
            ),
            models.UniqueConstraint(
                fields=["visit"],
                condition=Q(kind="patient"),
                name="participant_one_patient_per_visit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.kind})"
