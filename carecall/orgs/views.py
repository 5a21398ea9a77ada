"""Pages for organisations, clinics and their members. Thin: parse, call a service, render."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carecall.accounts.forms import AcceptInvitationForm
from carecall.accounts.models import User
from carecall.core.errors import ServiceError
from carecall.core.ratelimit import per_address, per_url_token, per_user, rate_limited
from carecall.orgs import selectors, services
from carecall.orgs.access import (
    MANAGERS,
    clinic_for_user,
    clinic_membership_for_user,
    operator_required,
    organisation_for_user,
    organisation_membership_for_user,
)
from carecall.orgs.clinic_settings_sections import (
    ClinicSettingsSection,
    clinic_settings_section,
    clinic_settings_sections,
)
from carecall.orgs.forms import (
    ChangeRoleForm,
    ClinicForm,
    InviteClinicMemberForm,
    InviteOrgAdminForm,
    OrganisationForm,
)
from carecall.orgs.invitations import (
    InvitationProblem,
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_revoke,
)
from carecall.orgs.models import Clinic, Invitation, Role


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# Every view that sends an invitation counts in one throttle, by sender and by address.
invitations_limited = rate_limited(
    "orgs.invite",
    [per_user("RATE_LIMIT_INVITE_PER_USER"), per_address("RATE_LIMIT_INVITE_PER_ADDRESS")],
    message=gettext_lazy(
        "Many invitations were sent from your account or your connection in the last hour, "
        "so this one was not sent. Try again in %(wait)s."
    ),
)


def _form_error(form: Form, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "orgs/home.html", {"organisations": selectors.home_for_user(_user(request))}
    )


@login_required
@require_GET
def organisation_detail(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = organisation_for_user(_user(request), organisation_id)
    return render(
        request,
        "orgs/organisation_detail.html",
        {
            "organisation": organisation,
            "clinics": organisation.clinics.order_by("name"),
            "admins": selectors.organisation_admins(organisation),
            "invitations": selectors.pending_invitations(organisation, clinic=None),
            "invite_form": InviteOrgAdminForm(),
        },
    )


@login_required
@require_POST
@invitations_limited
def organisation_invite(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = organisation_for_user(_user(request), organisation_id)
    form = InviteOrgAdminForm(request.POST)
    if form.is_valid():
        try:
            invitation_create(
                actor=_user(request),
                organisation=organisation,
                clinic=None,
                email=form.cleaned_data["email"],
                role=Role.ORG_ADMIN,
            )
        except ServiceError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % form.cleaned_data)
            return redirect("orgs:organisation", organisation_id=organisation.pk)
    return render(
        request,
        "orgs/organisation_detail.html",
        {
            "organisation": organisation,
            "clinics": organisation.clinics.order_by("name"),
            "admins": selectors.organisation_admins(organisation),
            "invitations": selectors.pending_invitations(organisation, clinic=None),
            "invite_form": form,
        },
        status=400,
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_admin_remove(
    request: HttpRequest, organisation_id: int, membership_id: int
) -> HttpResponse:
    organisation, membership = organisation_membership_for_user(
        _user(request), organisation_id, membership_id
    )
    if request.method == "POST":
        try:
            services.membership_remove(actor=_user(request), membership=membership)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("%(name)s is no longer an organisation admin.")
                % {"name": membership.user.get_full_name()},
            )
            if membership.user_id == request.user.pk:
                return redirect("orgs:home")
        return redirect("orgs:organisation", organisation_id=organisation.pk)
    return render(
        request, "orgs/membership_remove.html", {"membership": membership, "place": organisation}
    )


@login_required
@require_http_methods(["GET", "POST"])
def clinic_create(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = organisation_for_user(_user(request), organisation_id)
    form = ClinicForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            clinic = services.clinic_create(
                actor=_user(request), organisation=organisation, **form.cleaned_data
            )
        except ServiceError as error:
            _form_error(form, error)
        else:
            messages.success(
                request,
                _("%(name)s is open. You are its first clinic admin.") % {"name": clinic.name},
            )
            return redirect("orgs:clinic", clinic_id=clinic.pk)
    return render(
        request,
        "orgs/clinic_form.html",
        {"form": form, "organisation": organisation, "clinic": None},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_GET
def clinic_detail(request: HttpRequest, clinic_id: int) -> HttpResponse:
    access = clinic_for_user(_user(request), clinic_id)
    return render(request, "orgs/clinic_detail.html", {"access": access, "clinic": access.clinic})


@login_required
@require_http_methods(["GET", "POST"])
def clinic_edit(request: HttpRequest, clinic_id: int) -> HttpResponse:
    access = clinic_for_user(_user(request), clinic_id, roles=MANAGERS)
    clinic = access.clinic
    section = clinic_settings_section(request.POST.get("form", ""))
    if request.method == "POST" and section is not None:
        return _clinic_settings_section_save(request, clinic, section)
    form = _clinic_form(clinic, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.clinic_update(actor=_user(request), clinic=clinic, **form.cleaned_data)
        except ServiceError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Clinic details saved."))
            return redirect("orgs:clinic", clinic_id=clinic.pk)
    return _clinic_settings_page(request, clinic, form=form, status=400 if form.is_bound else 200)


def _clinic_form(clinic: Clinic, data: QueryDict | None = None) -> ClinicForm:
    initial = {"name": clinic.name, "timezone": clinic.timezone, "currency": clinic.currency}
    return ClinicForm(data, initial=initial)


def _clinic_settings_page(
    request: HttpRequest,
    clinic: Clinic,
    *,
    form: Form,
    status: int,
    posted: tuple[ClinicSettingsSection, Form] | None = None,
) -> HttpResponse:
    """The clinic's settings page: its details form, then each registered section's form
    (the posted one as posted)."""
    sections = [
        (section, posted[1] if posted and posted[0] == section else section.form(clinic, None))
        for section in clinic_settings_sections()
    ]
    return render(
        request,
        "orgs/clinic_form.html",
        {
            "form": form,
            "organisation": clinic.organisation,
            "clinic": clinic,
            "sections": sections,
        },
        status=status,
    )


def _clinic_settings_section_save(
    request: HttpRequest, clinic: Clinic, section: ClinicSettingsSection
) -> HttpResponse:
    """One section of the clinic's settings page (its own form and Save)."""
    form = section.form(clinic, request.POST)
    if form.is_valid():
        try:
            section.save(_user(request), clinic, form)
        except ServiceError as error:
            _form_error(form, error)
        else:
            messages.success(request, str(section.saved_message))
            return redirect("orgs:clinic_edit", clinic_id=clinic.pk)
    return _clinic_settings_page(
        request, clinic, form=_clinic_form(clinic), status=400, posted=(section, form)
    )


def _members_page(
    request: HttpRequest, clinic_id: int, invite_form: InviteClinicMemberForm, status: int = 200
) -> HttpResponse:
    access = clinic_for_user(_user(request), clinic_id, roles=MANAGERS)
    members = [
        (m, ChangeRoleForm(initial={"role": m.role}, prefix=f"m{m.pk}"))
        for m in selectors.clinic_members(access.clinic)
    ]
    return render(
        request,
        "orgs/clinic_members.html",
        {
            "access": access,
            "clinic": access.clinic,
            "members": members,
            "invitations": selectors.pending_invitations(
                access.clinic.organisation, clinic=access.clinic
            ),
            "invite_form": invite_form,
        },
        status=status,
    )


@login_required
@require_GET
def clinic_members(request: HttpRequest, clinic_id: int) -> HttpResponse:
    return _members_page(request, clinic_id, InviteClinicMemberForm())


@login_required
@require_POST
@invitations_limited
def clinic_invite(request: HttpRequest, clinic_id: int) -> HttpResponse:
    access = clinic_for_user(_user(request), clinic_id, roles=MANAGERS)
    form = InviteClinicMemberForm(request.POST)
    if form.is_valid():
        try:
            invitation_create(
                actor=_user(request),
                organisation=access.clinic.organisation,
                clinic=access.clinic,
                email=form.cleaned_data["email"],
                role=Role(form.cleaned_data["role"]),
            )
        except ServiceError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % form.cleaned_data)
            return redirect("orgs:clinic_members", clinic_id=clinic_id)
    return _members_page(request, clinic_id, form, status=400)


@login_required
@require_POST
def clinic_member_role(request: HttpRequest, clinic_id: int, membership_id: int) -> HttpResponse:
    _access, membership = clinic_membership_for_user(_user(request), clinic_id, membership_id)
    form = ChangeRoleForm(request.POST, prefix=f"m{membership.pk}")
    if not form.is_valid():
        messages.error(request, _("Choose clinic admin or clinician."))
        return redirect("orgs:clinic_members", clinic_id=clinic_id)
    try:
        services.membership_change_role(
            actor=_user(request), membership=membership, role=Role(form.cleaned_data["role"])
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s is now %(role)s.")
            % {
                "name": membership.user.get_full_name(),
                "role": Role(form.cleaned_data["role"]).label.lower(),
            },
        )
    return redirect("orgs:clinic_members", clinic_id=clinic_id)


@login_required
@require_http_methods(["GET", "POST"])
def clinic_member_remove(request: HttpRequest, clinic_id: int, membership_id: int) -> HttpResponse:
    access, membership = clinic_membership_for_user(_user(request), clinic_id, membership_id)
    if request.method == "POST":
        try:
            services.membership_remove(actor=_user(request), membership=membership)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("%(name)s was removed from %(clinic)s.")
                % {"name": membership.user.get_full_name(), "clinic": access.clinic},
            )
            if membership.user_id == request.user.pk and not access.is_org_admin:
                return redirect("orgs:home")
        return redirect("orgs:clinic_members", clinic_id=clinic_id)
    return render(
        request, "orgs/membership_remove.html", {"membership": membership, "place": access.clinic}
    )


@login_required
@require_POST
def invitation_withdraw(request: HttpRequest, invitation_id: int) -> HttpResponse:
    try:
        invitation = Invitation.objects.select_related("organisation", "clinic").get(
            pk=invitation_id
        )
    except Invitation.DoesNotExist:
        raise Http404 from None
    # Reaching the place decides 404 / 403 exactly as for the place's own pages.
    if invitation.clinic_id is not None:
        clinic_for_user(_user(request), invitation.clinic_id, roles=MANAGERS)
    else:
        organisation_for_user(_user(request), invitation.organisation_id)
    with transaction.atomic():
        invitation_revoke(actor=_user(request), invitation=invitation)
    messages.success(
        request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email}
    )
    if invitation.clinic_id is not None:
        return redirect("orgs:clinic_members", clinic_id=invitation.clinic_id)
    return redirect("orgs:organisation", organisation_id=invitation.organisation_id)


@login_required
@require_GET
def operator_organisations(request: HttpRequest) -> HttpResponse:
    operator_required(_user(request))
    return render(
        request,
        "orgs/operator_organisations.html",
        {"organisations": selectors.organisations_for_operator(), "form": OrganisationForm()},
    )


@login_required
@require_POST
@invitations_limited
def operator_organisation_create(request: HttpRequest) -> HttpResponse:
    operator_required(_user(request))
    form = OrganisationForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                organisation = services.organisation_create(
                    actor=_user(request), name=form.cleaned_data["name"]
                )
                invitation_create(
                    actor=_user(request),
                    organisation=organisation,
                    clinic=None,
                    email=form.cleaned_data["admin_email"],
                    role=Role.ORG_ADMIN,
                )
        except ServiceError as error:
            _form_error(form, error)
        else:
            messages.success(
                request,
                _("%(org)s was created and %(email)s was invited as its organisation admin.")
                % {"org": organisation.name, "email": form.cleaned_data["admin_email"]},
            )
            return redirect("orgs:operator_organisations")
    return render(
        request,
        "orgs/operator_organisations.html",
        {"organisations": selectors.organisations_for_operator(), "form": form},
        status=400,
    )


@require_http_methods(["GET", "POST"])
@rate_limited(
    "orgs.invitation_accept",
    [
        per_address("RATE_LIMIT_INVITATION_ACCEPT_PER_ADDRESS"),
        per_url_token("RATE_LIMIT_INVITATION_ACCEPT_PER_TOKEN"),
    ],
    message=gettext_lazy(
        "This invitation was tried many times in the last few minutes, so nothing was done. "
        "Try again in %(wait)s."
    ),
)
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    """Open an invitation link: accept it as the signed-in invitee, or create an account."""
    try:
        inv = invitation_for_token(token)
    except InvitationProblem as problem:
        return render(
            request,
            "orgs/invitation_problem.html",
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
            return render(request, "orgs/invitation.html", context, status=400)
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
                "orgs/invitation_problem.html",
                {"problem": problem.message},
                status=problem.status,
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
            return render(request, "orgs/invitation.html", context, status=400)
        if not request.user.is_authenticated:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            _("Welcome. You are now %(role)s of %(place)s.")
            % {"role": Role(membership.role).label.lower(), "place": context["place"]},
        )
        return redirect("orgs:home")
    return render(request, "orgs/invitation.html", context)
