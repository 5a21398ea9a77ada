from django.urls import path

from carecall.calls import views

app_name = "calls"

urlpatterns = [
    path("c/<slug:slug>/", views.entry, name="entry"),
    path("v/<str:token>/", views.visit, name="visit"),
    path("v/<str:token>/leave/", views.visit_leave, name="visit_leave"),
    path("j/<str:token>/", views.guest, name="guest"),
    path("clinics/<id:clinic_id>/waiting-area/", views.waiting_area, name="waiting_area"),
    path(
        "clinics/<id:clinic_id>/waiting-area/settings/",
        views.waiting_area_settings,
        name="waiting_area_settings",
    ),
    path("clinics/<id:clinic_id>/visits/<uuid:visit_id>/join/", views.join, name="join"),
    path("clinics/<id:clinic_id>/visits/<uuid:visit_id>/call/", views.call, name="call"),
]
