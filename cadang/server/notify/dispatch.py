"""Sending a notification: :func:`notify` is the one way in for every other app.

It decides the recipients (users of the given roles who may see the application, plus the
plan's escalation contacts for a failed check), writes one :class:`Notification` row per
recipient and channel, delivers each through its transport and records the result. A
``dedupe_key`` already used for the event makes the call a no-op, so a periodic check
(overdue backups, late forms) tells people once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from cadang.server.accounts.models import Profile, Role
from cadang.server.inventory.models import Application
from cadang.server.notify.models import Channel, Event, Notification, NotifySettings
from cadang.server.notify.transports import deliver

ESCALATION = (Role.VERIFIER, Role.APPROVER)  # SOP 000: the Kasi and the Kabid


def recipients(roles: Iterable[Role], application: Application | None) -> list[str]:
    """E-mail addresses of the active users with these roles (units: their own apps only)."""
    wanted = {Role(r).value for r in roles}
    emails: list[str] = []
    for p in Profile.objects.select_related("user").filter(role__in=wanted, user__is_active=True):
        if not p.user.email:
            continue
        if p.role == Role.UNIT and (application is None or application.owner != p.unit):
            continue
        if p.user.email not in emails:
            emails.append(p.user.email)
    return emails


def notify(
    event: Event,
    *,
    subject: str,
    body: str,
    dedupe_key: str,
    payload: dict[str, Any] | None = None,
    roles: Iterable[Role] = ESCALATION,
    application: Application | None = None,
    extra_emails: Iterable[str] = (),
) -> list[Notification]:
    """Tell the people of ``roles`` (and ``extra_emails``) about ``event``, once per key."""
    if Notification.objects.filter(event=event, dedupe_key=dedupe_key).exists():
        return []
    cfg = NotifySettings.load()
    data = {
        "event": str(event),
        "subject": subject,
        "message": body,
        "application": application.name if application else None,
        **(payload or {}),
    }
    targets: list[tuple[str, str]] = []
    if cfg.email_enabled:
        emails = recipients(roles, application)
        emails += [e for e in extra_emails if e and e not in emails]
        targets += [(Channel.EMAIL, e) for e in emails]
    if cfg.webhook_enabled and cfg.webhook_url:
        targets.append((Channel.WEBHOOK, cfg.webhook_url))
    sent: list[Notification] = []
    for channel, recipient in targets:
        n = Notification.objects.create(
            event=event,
            channel=channel,
            recipient=recipient,
            subject=subject[:255],
            body=body,
            payload=data,
            dedupe_key=dedupe_key[:255],
        )
        error = deliver(n)
        n.sent_at = timezone.now()
        n.delivered = error is None
        n.error = error or ""
        n.save(update_fields=["sent_at", "delivered", "error"])
        sent.append(n)
    if not targets:
        # Nobody to tell is itself worth keeping: the log shows the event was not delivered.
        sent.append(
            Notification.objects.create(
                event=event,
                channel=Channel.EMAIL,
                recipient="",
                subject=subject[:255],
                body=body,
                payload=data,
                dedupe_key=dedupe_key[:255],
                error="no recipient: no user of the roles has an e-mail address",
            )
        )
    return sent
