"""Creating, changing and unlocking people, and the demo users; shared by the command line
and the pages."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


@dataclass
class PersonChange:
    """The new values for a user (the administrator's user page); the password only when
    set (already validated by the caller)."""

    full_name: str
    email: str
    role: str
    unit: str
    language: str
    is_active: bool
    password: str = ""


def _full_name(user: Any) -> str:
    return " ".join(p for p in (user.first_name, user.last_name) if p)


def change_person(user: Any, change: PersonChange, *, actor: str = "") -> dict[str, list[Any]]:
    """Apply ``change`` to ``user`` and its profile; record what changed ("user_changed",
    old and new values, never the password). Returns {field: [old, new]}."""
    role = Role(change.role)
    profile = Profile.objects.filter(user=user).first()
    before: dict[str, Any] = {
        "full_name": _full_name(user),
        "email": user.email,
        "role": profile.role if profile else "",
        "unit": profile.unit if profile else "",
        "language": profile.language if profile else "",
        "is_active": user.is_active,
    }
    after: dict[str, Any] = {
        "full_name": change.full_name.strip(),
        "email": change.email.strip(),
        "role": role.value,
        "unit": change.unit.strip() if role is Role.UNIT else "",
        "language": change.language,
        "is_active": change.is_active,
    }
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if not changes and not change.password:
        return {}
    with transaction.atomic():
        first, _sep, last = after["full_name"].partition(" ")
        user.first_name, user.last_name = first, last
        user.email = after["email"]
        user.is_active = after["is_active"]
        user.is_staff = role is Role.ADMIN
        if change.password:
            user.set_password(change.password)
        user.save()
        Profile.objects.update_or_create(
            user=user,
            defaults={"role": role, "unit": after["unit"], "language": after["language"]},
        )
        details: dict[str, Any] = {"changes": changes}
        if change.password:
            details["password_set"] = True
        record("user_changed", actor=actor, target=user.get_username(), details=details)
    return changes


class DemoStatus(enum.StrEnum):
    CREATED = "created"
    EXISTS = "exists"  # a user of that name was there already: left as it is
    NO_UNIT = "no_unit"  # the unit's user: no --unit and no application in the catalog


@dataclass
class DemoPerson:
    username: str
    role: str
    status: DemoStatus
    password: str = ""  # only when created
    unit: str = ""


# One user per role for trying the server out (README): user name = role, e-mail at the
# reserved .invalid domain so no notification ever leaves the machine by mistake.
DEMO_NAMES: dict[Role, str] = {
    Role.OPERATOR: "Budi Santoso",
    Role.VERIFIER: "Siti Rahmawati",
    Role.APPROVER: "Agus Wibowo",
    Role.HEAD: "Dewi Lestari",
    Role.UNIT: "Rudi Hartono",
    Role.CRYPTO: "Nur Aini",
    Role.AUDITOR: "Hendra Gunawan",
    Role.ADMIN: "Admin Demo",
}
DEMO_DOMAIN = "demo.invalid"


def default_demo_unit() -> str:
    """The owner of the first application in the catalog, or "" without applications."""
    from cadang.server.inventory.models import Application

    first = Application.objects.filter(active=True).order_by("position", "name").first()
    return first.owner if first else ""


def create_demo_people(
    unit: str | None = None,
    *,
    actor: str = "",
    make_password: Callable[[], str] | None = None,
) -> list[DemoPerson]:
    """One user per role, each with a fresh password; existing ones are left as they are.

    The requesting unit's user sees ``unit`` (default: :func:`default_demo_unit`); with
    neither it is not made (status NO_UNIT).
    """
    User = get_user_model()
    new_password = make_password or (lambda: secrets.token_urlsafe(12))
    unit = (unit if unit is not None else default_demo_unit()).strip()
    out: list[DemoPerson] = []
    for role, full_name in DEMO_NAMES.items():
        username = role.value
        their_unit = unit if role is Role.UNIT else ""
        if User.objects.filter(username=username).exists():
            out.append(DemoPerson(username, role.value, DemoStatus.EXISTS))
            continue
        if role is Role.UNIT and not unit:
            out.append(DemoPerson(username, role.value, DemoStatus.NO_UNIT))
            continue
        password = new_password()
        create_person(
            NewPerson(
                username=username,
                role=role.value,
                password=password,
                full_name=full_name,
                email=f"{username}@{DEMO_DOMAIN}",
                unit=their_unit,
            ),
            actor=actor,
        )
        out.append(DemoPerson(username, role.value, DemoStatus.CREATED, password, their_unit))
    return out
