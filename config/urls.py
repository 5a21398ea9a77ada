from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_page
from django.views.i18n import JavaScriptCatalog

from carecall.core.views import favicon, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page links; send them to the SVG one.
    path("favicon.ico", favicon),
    path(
        "jsi18n/",
        # No packages: the catalogue comes from LOCALE_PATHS, where CareCall's translations live.
        cache_page(3600)(JavaScriptCatalog.as_view()),
        name="javascript-catalog",
    ),
    path("accounts/", include("carecall.accounts.urls")),
    path("operator/django-admin/", admin.site.urls),
    path("", include("carecall.payments.urls")),
    path("", include("carecall.audit.urls")),
    path("", include("carecall.clinic_apps.urls")),
    path("", include("carecall.calls.urls")),
    path("", include("carecall.orgs.urls")),
]
