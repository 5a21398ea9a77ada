"""The audit actions of payments (registered in PaymentsConfig.ready())."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentAction(models.TextChoices):
    STRIPE_CONNECTED = "stripe.connected", _("Stripe account connected")
    STRIPE_CHANGED = "stripe.changed", _("Stripe account changed")
    STRIPE_REMOVED = "stripe.removed", _("Stripe account removed")
    STRIPE_DISCONNECTED = "stripe.disconnected", _("Stripe account disconnected at Stripe")
    PAYMENT_REQUESTED = "payment.requested", _("Payment requested")
    PAYMENT_CANCELLED = "payment.cancelled", _("Payment cancelled")
    PAYMENT_PAID = "payment.paid", _("Payment paid")
    PAYMENT_EXPIRED = "payment.expired", _("Payment request expired")
    PAYMENT_REFUNDED = "payment.refunded", _("Payment refunded")
    PAYMENT_REFUND_FAILED = "payment.refund_failed", _("Refund failed")
    RECEIPT_RESENT = "payment.receipt_resent", _("Receipt resent")
    CLINIC_PAYMENT_SETTINGS = "clinic.payment_settings", _("Clinic payment settings changed")
