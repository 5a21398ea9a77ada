"""The audit actions of clinic apps (registered in ClinicAppsConfig.ready())."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppAction(models.TextChoices):
    APP_REQUESTED = "app.requested", _("App requested")
    APP_APPROVED = "app.approved", _("App request approved")
    APP_DECLINED = "app.declined", _("App request declined")
    APP_DISABLED = "app.disabled", _("App disabled")
