from django.urls import path

from carecall.orgs import views

app_name = "orgs"

urlpatterns = [
    path("", views.home, name="home"),
    # Under /accounts/, where invitation emails have always pointed.
    path("accounts/invitations/<str:token>/", views.invitation_open, name="invitation"),
    path("orgs/<id:organisation_id>/", views.organisation_detail, name="organisation"),
    path(
        "orgs/<id:organisation_id>/invite/", views.organisation_invite, name="organisation_invite"
    ),
    path(
        "orgs/<id:organisation_id>/admins/<id:membership_id>/remove/",
        views.organisation_admin_remove,
        name="organisation_admin_remove",
    ),
    path("orgs/<id:organisation_id>/clinics/new/", views.clinic_create, name="clinic_create"),
    path("clinics/<id:clinic_id>/", views.clinic_detail, name="clinic"),
    path("clinics/<id:clinic_id>/edit/", views.clinic_edit, name="clinic_edit"),
    path("clinics/<id:clinic_id>/members/", views.clinic_members, name="clinic_members"),
    path("clinics/<id:clinic_id>/members/invite/", views.clinic_invite, name="clinic_invite"),
    path(
        "clinics/<id:clinic_id>/members/<id:membership_id>/role/",
        views.clinic_member_role,
        name="clinic_member_role",
    ),
    path(
        "clinics/<id:clinic_id>/members/<id:membership_id>/remove/",
        views.clinic_member_remove,
        name="clinic_member_remove",
    ),
    path(
        "invitations/<id:invitation_id>/withdraw/",
        views.invitation_withdraw,
        name="invitation_withdraw",
    ),
    path("operator/", views.operator_organisations, name="operator_organisations"),
    path(
        "operator/organisations/new/",
        views.operator_organisation_create,
        name="operator_organisation_create",
    ),
]
