from django.contrib import admin
from django.urls import include, path

from carecall.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("carecall.accounts.urls")),
    path("operator/django-admin/", admin.site.urls),
    path("", include("carecall.payments.urls")),
    path("", include("carecall.audit.urls")),
    path("", include("carecall.clinic_apps.urls")),
    path("", include("carecall.calls.urls")),
    path("", include("carecall.orgs.urls")),
]
