"""Creating and unlocking people, shared by the command line and the pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from cadang.errors import UsageError
from cadang.i18n import _
from cadang.server.accounts.models import Profile, Role
from cadang.server.audit.log import record


@dataclass
class NewPerson:
    username: str
    role: str
    password: str
    full_name: str = ""
    email: str = ""
    unit: str = ""
    language: str = "id"


def create_person(person: NewPerson, *, actor: str = "") -> Profile:
    """Create a user with a profile; a bad role, name or password is a UsageError."""
    User = get_user_model()
    try:
        role = Role(person.role)
    except ValueError:
        raise UsageError(
            _("unknown role {role!r}").format(role=person.role),
            hint=_("choose one of: {roles}").format(roles=", ".join(r.value for r in Role)),
        ) from None
    if not person.username.strip():
        raise UsageError(_("a user name is required"))
    if User.objects.filter(username=person.username).exists():
        raise UsageError(
            _("user {name!r} already exists").format(name=person.username),
            hint=_("choose another name, or change that user's password in the web pages"),
        )
    if role is Role.UNIT and not person.unit:
        raise UsageError(
            _("a requesting unit needs --unit: the owner (OPD) named in the plan"),
        )
    first, _sep, last = person.full_name.partition(" ")
    candidate = User(username=person.username, email=person.email, first_name=first, last_name=last)
    try:
        validate_password(person.password, user=candidate)
    except ValidationError as exc:
        raise UsageError(
            _("the password is not accepted: {reasons}").format(reasons=" ".join(exc.messages)),
            hint=_("use at least 10 characters that are not a common word or only digits"),
        ) from None
    with transaction.atomic():
        candidate.set_password(person.password)
        candidate.is_staff = role is Role.ADMIN
        candidate.save()
        profile = Profile.objects.create(
            user=candidate, role=role, unit=person.unit, language=person.language
        )
        record(
            "user_created",
            actor=actor,
            target=person.username,
            details={"role": role.value, "unit": person.unit},
        )
    return profile


def unlock_person(username: str, *, actor: str = "") -> int:
    """Clear the failed log-ins that locked ``username``; returns how many were cleared."""
    from axes.utils import reset

    count = int(reset(username=username) or 0)
    record("user_unlocked", actor=actor, target=username, details={"cleared": count})
    return count
