"""The client's address, also behind the reverse proxy of the production setup.

Behind nginx every request comes from 127.0.0.1; lockout per address would then lock
everyone out together, and the audit log would name the proxy. With
``CADANG_BEHIND_TLS_PROXY=1`` the address is the right-most one in ``X-Forwarded-For``: the
one our proxy appended (deploy/nginx.conf uses ``$proxy_add_x_forwarded_for``); addresses
further left were written by the client and can be forged.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def client_address(request: Any) -> str:
    if request is None:
        return ""
    meta = request.META
    remote = str(meta.get("REMOTE_ADDR", ""))
    if getattr(settings, "CADANG_BEHIND_PROXY", False):
        forwarded = [a.strip() for a in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
        forwarded = [a for a in forwarded if a]
        if forwarded:
            return forwarded[-1]
    return remote
