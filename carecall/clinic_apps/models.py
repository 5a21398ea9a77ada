"""Add-on apps per clinic (the Payment Gateway) and the requests that enable them.

An organisation admin (or a clinic admin for their clinic) requests an app for some clinics; a
platform operator approves or declines the request; approval enables it for exactly those clinics.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from carecall.core.models import TimestampedModel
from carecall.orgs.models import Clinic, Organisation


class AppKey(models.TextChoices):
    PAYMENT_GATEWAY = "payment_gateway", _("Payment Gateway")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the operator")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class AppRequest(TimestampedModel):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="app_requests"
    )
    app = models.CharField(max_length=40, choices=AppKey.choices)
    clinics = models.ManyToManyField(Clinic, related_name="app_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    manager_name = models.CharField(_("authorised telehealth manager"), max_length=120)
    manager_email = models.EmailField(_("manager's email"))
    manager_phone = models.CharField(_("manager's phone"), max_length=32)
    terms_accepted_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_app_display()} for {self.organisation} ({self.status})"


class ClinicAppStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ENABLED = "enabled", _("Enabled")
    DECLINED = "declined", _("Declined")
    DISABLED = "disabled", _("Disabled")


class ClinicApp(TimestampedModel):
    """One app's state at one clinic. No row means "not requested"."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="apps")
    app = models.CharField(max_length=40, choices=AppKey.choices)
    status = models.CharField(max_length=10, choices=ClinicAppStatus.choices)
    request = models.ForeignKey(AppRequest, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "app"], name="clinic_app_once")]

    def __str__(self) -> str:
        return f"{self.get_app_display()} at {self.clinic}: {self.status}"
