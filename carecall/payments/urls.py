from django.urls import path, re_path

from carecall.payments import receipt_views, records_views, views

app_name = "payments"

PAYER = r"^(?P<kind>v|j)/(?P<token>[A-Za-z0-9_-]+)/payments/"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

urlpatterns = [
    path("receipts/<str:signed>/", receipt_views.receipt, name="receipt"),
    path(
        "clinics/<id:clinic_id>/configure/customer-payments/",
        views.customer_payments,
        name="customer_payments",
    ),
    path(
        "clinics/<id:clinic_id>/configure/customer-payments/connect/",
        views.connect_start,
        name="connect_start",
    ),
    path(
        "clinics/<id:clinic_id>/configure/customer-payments/remove/",
        views.connect_remove,
        name="connect_remove",
    ),
    path("payments/stripe/oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path("payments/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path(
        "clinics/<id:clinic_id>/visits/<uuid:visit_id>/payments/",
        views.visit_payments,
        name="visit_payments",
    ),
    path(
        "clinics/<id:clinic_id>/visits/<uuid:visit_id>/payments/<uuid:request_id>/cancel/",
        views.visit_payment_cancel,
        name="visit_payment_cancel",
    ),
    path("clinics/<id:clinic_id>/payments/", records_views.clinic_payments, name="clinic_payments"),
    path(
        "clinics/<id:clinic_id>/payments/export.csv",
        records_views.clinic_payments_csv,
        name="clinic_payments_csv",
    ),
    path(
        "clinics/<id:clinic_id>/payments/report/",
        records_views.clinic_report,
        name="clinic_report",
    ),
    path(
        "clinics/<id:clinic_id>/payments/<uuid:payment_id>/",
        records_views.payment_detail,
        name="payment_detail",
    ),
    path(
        "clinics/<id:clinic_id>/payments/<uuid:payment_id>/refund/",
        records_views.payment_refund,
        name="payment_refund",
    ),
    path(
        "clinics/<id:clinic_id>/payments/<uuid:payment_id>/resend-receipt/",
        records_views.payment_resend_receipt,
        name="payment_resend_receipt",
    ),
    path(
        "orgs/<id:organisation_id>/payments/",
        records_views.organisation_payments,
        name="org_payments",
    ),
    path(
        "orgs/<id:organisation_id>/payments/export.csv",
        records_views.organisation_payments_csv,
        name="org_payments_csv",
    ),
    path(
        "orgs/<id:organisation_id>/payments/report/",
        records_views.organisation_report,
        name="org_report",
    ),
    re_path(PAYER + r"$", views.payer_payments, name="payer_payments"),
    re_path(
        PAYER + r"(?P<request_id>" + UUID + r")/$",
        views.payer_payment,
        name="payer_payment",
    ),
    re_path(
        PAYER + r"(?P<request_id>" + UUID + r")/email/$",
        views.payer_email,
        name="payer_email",
    ),
    re_path(
        PAYER + r"(?P<request_id>" + UUID + r")/complete/$",
        views.payer_complete,
        name="payer_complete",
    ),
    re_path(
        PAYER + r"(?P<request_id>" + UUID + r")/receipt/$",
        receipt_views.payer_receipt,
        name="payer_receipt",
    ),
]
