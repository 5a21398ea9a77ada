from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy

from carecall.accounts.forms import PasswordResetForm, SignInForm
from carecall.accounts.models import normalise_email
from carecall.core.ratelimit import Limit, per_address, rate_limited


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        # 400 like every other refused form (Django's view answers 200 with the errors).
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class SignOutView(auth_views.LogoutView):
    pass


def _posted_email(request: HttpRequest, kwargs: Mapping[str, Any]) -> str | None:
    email = request.POST.get("email", "")
    return f"email:{normalise_email(email)}" if email.strip() else None


# Counted for any email, known or not: the limit tells nothing about who has an account.
password_reset_limited = rate_limited(
    "accounts.password_reset",
    [
        per_address("RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS"),
        Limit("email", _posted_email, "RATE_LIMIT_PASSWORD_RESET_PER_EMAIL"),
    ],
    message=gettext_lazy(
        "Many password resets were asked for from here, or for this email address, a short "
        "while ago, so no email was sent this time. Look in your inbox (and spam folder) for "
        "the ones already sent, or try again in %(wait)s."
    ),
)


@method_decorator(password_reset_limited, name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = PasswordResetForm
    email_template_name = "accounts/email/password_reset.txt"
    html_email_template_name = "accounts/email/password_reset.html"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_sent")

    def form_invalid(self, form: Form) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
