from django.urls import path

from carecall.audit import views

app_name = "audit"

urlpatterns = [
    path("orgs/<id:organisation_id>/audit/", views.organisation_audit, name="organisation"),
    path("operator/audit/", views.operator_audit, name="operator"),
]
