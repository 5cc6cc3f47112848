"""Template context: the user's role and what it may do, for menus."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from cadang.server.accounts.roles import PERMISSIONS, can, role_of
from cadang.server.lib.config import zone_abbreviation


def role(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "user_role": role_of(user),
        "perms_for": {action: can(user, action) for action in PERMISSIONS},
        "zone_abbreviation": zone_abbreviation(settings.TIME_ZONE),
    }
