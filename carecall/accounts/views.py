from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from carecall.accounts.forms import AcceptInvitationForm, PasswordResetForm, SignInForm
from carecall.accounts.models import User
from carecall.accounts.services import InvitationProblem, invitation_accept, invitation_for_token
from carecall.core.errors import ServiceError
from carecall.orgs.models import Role


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = PasswordResetForm
    email_template_name = "accounts/email/password_reset.txt"
    html_email_template_name = "accounts/email/password_reset.html"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_sent")


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Open an invitation link: accept it as the signed-in invitee, or create an account."""
    try:
        inv = invitation_for_token(token)
    except InvitationProblem as problem:
        return render(
            request,
            "accounts/invitation_problem.html",
            {"problem": problem.message},
            status=problem.status,
        )
    user: User | None = request.user if request.user.is_authenticated else None
    existing = user is None and User.objects.filter(email=inv.email).exists()
    form = AcceptInvitationForm(request.POST if request.method == "POST" and user is None else None)
    context = {
        "invitation": inv,
        "place": inv.clinic or inv.organisation,
        "role": inv.role_label,
        "form": form,
        "existing_account": existing,
        "wrong_user": user is not None and user.email != inv.email,
        "sign_in_url": f"{reverse('accounts:sign_in')}?next={request.path}",
    }
    if request.method == "POST" and not existing and not context["wrong_user"]:
        if user is None and not form.is_valid():
            return render(request, "accounts/invitation.html", context, status=400)
        try:
            user, membership = invitation_accept(
                raw_token=token,
                user=user,
                full_name=form.cleaned_data.get("full_name", "") if user is None else "",
                password=form.cleaned_data.get("password") if user is None else None,
            )
        except InvitationProblem as problem:
            return render(
                request,
                "accounts/invitation_problem.html",
                {"problem": problem.message},
                status=problem.status,
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
            return render(request, "accounts/invitation.html", context, status=400)
        if not request.user.is_authenticated:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            _("Welcome. You are now %(role)s of %(place)s.")
            % {"role": Role(membership.role).label.lower(), "place": context["place"]},
        )
        return redirect("orgs:home")
    return render(request, "accounts/invitation.html", context)
