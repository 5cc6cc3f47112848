"""Delivering one notification: e-mail over SMTP (Django's mail) or a JSON POST webhook."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.core.mail import EmailMessage

from cadang.server.notify.models import Channel, Notification

WEBHOOK_TIMEOUT = 10.0


def deliver(n: Notification) -> str | None:
    """Send ``n``; None when it was accepted, else the reason it was not."""
    try:
        if n.channel == Channel.EMAIL:
            EmailMessage(subject=n.subject, body=n.body, to=[n.recipient]).send()
        else:
            post_json(n.recipient, n.payload)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def post_json(url: str, payload: object) -> None:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    req = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "cadang"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT) as resp:  # noqa: S310
        status = resp.status
    if not 200 <= status < 300:
        raise ValueError(f"webhook answered HTTP {status}")
