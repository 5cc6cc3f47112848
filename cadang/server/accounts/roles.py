"""Who may do what: one table of actions to roles, checked by every view.

Pages and actions ask :func:`can` (or use :func:`role_required`); a user without a profile
has no role and may do nothing. Requesting units see only their own applications
(:func:`visible_applications`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from cadang.server.accounts.models import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.models import QuerySet

    from cadang.server.inventory.models import Application

R = Role
EVERYONE = frozenset(Role)

# action -> roles allowed. Read-only views for the auditor; the unit sees its own only.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "view_dashboard": EVERYONE,
    "view_inventory": EVERYONE,
    "edit_inventory": frozenset({R.ADMIN}),
    "import_plan": frozenset({R.ADMIN}),
    "export_plan": frozenset({R.ADMIN, R.AUDITOR}),
    "view_runs": EVERYONE,
    "start_run": frozenset({R.OPERATOR, R.CRYPTO, R.ADMIN}),
    "edit_schedules": frozenset({R.ADMIN}),
    "view_forms": frozenset(
        {R.OPERATOR, R.VERIFIER, R.APPROVER, R.HEAD, R.CRYPTO, R.AUDITOR, R.ADMIN, R.UNIT}
    ),
    "confirm_form": frozenset({R.OPERATOR, R.CRYPTO}),
    "verify_form": frozenset({R.VERIFIER}),
    "approve_month": frozenset({R.APPROVER}),
    "view_monthly_report": frozenset({R.VERIFIER, R.APPROVER, R.HEAD, R.AUDITOR, R.ADMIN}),
    "view_notifications": frozenset({R.VERIFIER, R.APPROVER, R.HEAD, R.AUDITOR, R.ADMIN}),
    "edit_settings": frozenset({R.ADMIN}),
    "view_audit": frozenset({R.AUDITOR, R.ADMIN}),
    "manage_users": frozenset({R.ADMIN}),
}


def role_of(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    if not user.is_authenticated:
        return None
    profile = getattr(user, "profile", None)
    if profile is None:
        return None
    try:
        return Role(profile.role)
    except ValueError:
        return None


def can(user: AbstractBaseUser | AnonymousUser, action: str) -> bool:
    role = role_of(user)
    return role is not None and role in PERMISSIONS[action]


V = TypeVar("V", bound=Callable[..., HttpResponse])


def role_required(action: str) -> Callable[[V], V]:
    """View decorator: log-in required, then 403 unless the user's role may do ``action``."""
    if action not in PERMISSIONS:
        raise KeyError(action)

    def decorate(view: V) -> V:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not can(request.user, action):
                raise PermissionDenied(action)
            return view(request, *args, **kwargs)

        return login_required(wrapper)  # type: ignore[return-value]

    return decorate


def sees_every_application(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True for every role but the requesting unit (queries then need no application filter,
    which matters on tables of a year of runs)."""
    role = role_of(user)
    return role is not None and role is not Role.UNIT


def visible_applications(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Application]:
    """The applications this user may see: all, or for a requesting unit only its own."""
    from cadang.server.inventory.models import Application

    role = role_of(user)
    if role is None:
        return Application.objects.none()
    if role is Role.UNIT:
        unit = user.profile.unit  # type: ignore[union-attr]
        return Application.objects.filter(owner=unit) if unit else Application.objects.none()
    return Application.objects.all()
