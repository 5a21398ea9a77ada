from __future__ import annotations

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from carecall.core.currencies import CURRENCY_CHOICES
from carecall.core.models import TimestampedModel


class Role(models.TextChoices):
    ORG_ADMIN = "org_admin", _("Organisation admin")
    CLINIC_ADMIN = "clinic_admin", _("Clinic admin")
    CLINICIAN = "clinician", _("Clinician")


CLINIC_ROLES = (Role.CLINIC_ADMIN, Role.CLINICIAN)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Organisation(TimestampedModel):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def default_waiting_area() -> dict[str, object]:
    # Filled in by the video-call work (opening hours, message, required fields).
    return {}


class Clinic(TimestampedModel):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="clinics")
    name = models.CharField(_("name"), max_length=120)
    # Public: the patients' entry link is /c/<slug>.
    slug = models.SlugField(_("link name"), max_length=60, unique=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Australia/Sydney", validators=[validate_timezone]
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=CURRENCY_CHOICES, default="AUD"
    )
    waiting_area = models.JSONField(_("waiting area settings"), default=default_waiting_area)
    # Printed on receipts so patients know whom to contact.
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    # The largest payment a clinician may request, in the clinic's currency (major units).
    payment_max_amount = models.DecimalField(
        _("largest payment request"), max_digits=10, decimal_places=2, default=Decimal("10000.00")
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(TimestampedModel):
    """A person's role in one place: the organisation as a whole (org admins) or one clinic."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        constraints = [
            # One row per user and place (NULL clinics are distinct in SQL, hence two constraints).
            models.UniqueConstraint(
                fields=["user", "organisation"],
                condition=Q(clinic__isnull=True),
                name="membership_one_per_user_and_organisation",
            ),
            models.UniqueConstraint(
                fields=["user", "clinic"],
                condition=Q(clinic__isnull=False),
                name="membership_one_per_user_and_clinic",
            ),
            # Org admins hold the organisation; clinic admins and clinicians hold one clinic.
            models.CheckConstraint(
                condition=(Q(role="org_admin") & Q(clinic__isnull=True))
                | (Q(role__in=["clinic_admin", "clinician"]) & Q(clinic__isnull=False)),
                name="membership_role_matches_place",
            ),
        ]
        indexes = [models.Index(fields=["clinic", "role"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.clinic or self.organisation}"


class Invitation(TimestampedModel):
    """An emailed, single-use link that makes someone a member of an organisation or clinic.

    Only a hash of the token is stored: a copy of the database cannot be used to accept invitations.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Its table and index keep the names they had in accounts, where it lived first.
        db_table = "accounts_invitation"
        indexes = [
            models.Index(fields=["organisation", "email"], name="accounts_in_organis_bf82ae_idx")
        ]

    def __str__(self) -> str:
        return f"{self.email} as {self.role}"

    @property
    def role_label(self) -> str:
        """The role in words; a role that is not (or no longer) known never breaks a page."""
        if self.role in Role.values:
            return str(Role(self.role).label)
        return str(_("Unknown role"))

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )
