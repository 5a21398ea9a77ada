from django.urls import path

from carecall.clinic_apps import views

app_name = "clinic_apps"

urlpatterns = [
    path("orgs/<id:organisation_id>/apps/", views.organisation_apps, name="organisation_apps"),
    path("clinics/<id:clinic_id>/apps/", views.clinic_apps, name="clinic_apps"),
    path("operator/apps/", views.operator_queue, name="operator_queue"),
    path(
        "operator/apps/requests/<id:request_id>/decide/",
        views.operator_decide,
        name="operator_decide",
    ),
    path(
        "operator/apps/clinics/<id:clinic_app_id>/disable/",
        views.operator_disable,
        name="operator_disable",
    ),
]
