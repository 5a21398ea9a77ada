"""Accounts: creating the people who sign in."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from carecall.accounts.models import User, normalise_email
from carecall.core.errors import ServiceError


def user_create(
    *, email: str, full_name: str, password: str | None, is_staff: bool = False
) -> User:
    email = normalise_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(_("Enter a valid email address."), field="email") from None
    if User.objects.filter(email=email).exists():
        raise ServiceError(_("An account with this email already exists."), field="email")
    if not full_name.strip():
        raise ServiceError(_("Enter your full name."), field="full_name")
    user = User(email=email, full_name=full_name.strip(), is_staff=is_staff)
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ServiceError(" ".join(error.messages), field="password") from None
    user.set_password(password)
    user.save()
    return user
