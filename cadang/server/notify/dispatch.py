"""Sending a notification: :func:`notify` is the one way in for every other app.

It decides the recipients (users of the given roles who may see the application, plus the
plan's escalation contacts for a failed check), writes one :class:`Notification` row per
recipient and channel, delivers each through its transport and records the result. A
``dedupe_key`` already used for the event makes the call a no-op, so a periodic check
(overdue backups, late forms) tells people once.

Delivery never raises: a mail server that is down or a webhook that fails is written on
the notification (``delivered`` False, ``error``) and logged, and the caller (a run, the
scheduler) carries on. The subject and body are the caller's words, already in the
office's language (Bahasa Indonesia unless configured otherwise). Delivery happens inside
the call, so call ``notify`` after your own transaction commits, not inside it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cadang.server.accounts.models import Profile, Role
from cadang.server.inventory.models import Application
from cadang.server.notify.models import Channel, Event, Notification, NotifySettings
from cadang.server.notify.transports import Outbox

ESCALATION = (Role.VERIFIER, Role.APPROVER)  # SOP 000: the Kasi and the Kabid
# Kept in English on the row and translated when shown (notify/list.html).
NO_RECIPIENT = gettext_noop("no recipient: no user of the roles has an e-mail address")
ALL_OFF = gettext_noop("not sent: e-mail and the webhook are both switched off")

log = logging.getLogger(__name__)


def recipients(roles: Iterable[Role], application: Application | None) -> list[str]:
    """E-mail addresses of the active users with these roles (units: their own apps only)."""
    wanted = {Role(r).value for r in roles}
    emails: list[str] = []
    profiles = Profile.objects.select_related("user").filter(role__in=wanted, user__is_active=True)
    for p in profiles.order_by("user__username"):
        email = p.user.email.strip()
        if not email:
            continue
        if p.role == Role.UNIT and (application is None or application.owner != p.unit):
            continue
        if email.lower() not in {e.lower() for e in emails}:
            emails.append(email)
    return emails


def _one_line(text: str) -> str:
    """A subject is one header line: a line break in it would make the mail unsendable."""
    return " ".join(text.split())[:255]


def send(n: Notification, outbox: Outbox) -> Notification:
    """Deliver ``n`` and keep the outcome on it."""
    try:
        error = outbox.deliver(n)
    except Exception as exc:  # a bug in a transport must not stop the run that reported
        log.exception("notification %s: the transport failed", n.pk)
        error = f"{type(exc).__name__}: {exc}"
    n.sent_at = timezone.now()
    n.delivered = error is None
    n.error = error or ""
    n.save(update_fields=["sent_at", "delivered", "error"])
    if error:
        log.warning(
            "notification %s (%s to %s) not delivered: %s", n.pk, n.channel, n.recipient, error
        )
    return n


def _create(**fields: Any) -> Notification | None:
    """The row, or None when another process just wrote the same one (told already)."""
    try:
        with transaction.atomic():  # a savepoint, so a caller's transaction survives
            return Notification.objects.create(**fields)
    except IntegrityError:
        return None


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
    dedupe_key = dedupe_key[:255]
    if Notification.objects.filter(event=event, dedupe_key=dedupe_key).exists():
        return []
    cfg = NotifySettings.load()
    subject = _one_line(subject)
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
        for extra in extra_emails:
            extra = extra.strip()
            if extra and extra.lower() not in {e.lower() for e in emails}:
                emails.append(extra)
        targets += [(Channel.EMAIL, e) for e in emails]
    if cfg.webhook_enabled and cfg.webhook_url:
        targets.append((Channel.WEBHOOK, cfg.webhook_url))
    common = {"event": event, "subject": subject, "body": body, "payload": data}
    if not targets:
        # Nobody to tell is itself worth keeping: the log shows the event was not delivered.
        why = NO_RECIPIENT if cfg.email_enabled else ALL_OFF
        log.warning("notification %s/%s: %s", event, dedupe_key, why)
        row = _create(
            **common, channel=Channel.EMAIL, recipient="", dedupe_key=dedupe_key, error=why
        )
        return [row] if row else []
    sent: list[Notification] = []
    with Outbox() as outbox:
        for channel, recipient in targets:
            n = _create(**common, channel=channel, recipient=recipient, dedupe_key=dedupe_key)
            if n is not None:
                sent.append(send(n, outbox))
    return sent


def send_test(email: str) -> list[Notification]:
    """A test notification to ``email`` (the administrator's own) and to the webhook URL,
    whether or not they are switched on, so the settings can be tried before use."""
    cfg = NotifySettings.load()
    key = f"test:{uuid.uuid4().hex}"
    subject = _("Cadang: test notification")
    body = _(
        "This is a test notification from Cadang. If you can read it, notifications reach you."
    )
    data = {"event": Event.TEST.value, "subject": subject, "message": body, "application": None}
    targets = [(Channel.EMAIL, email)] if email else []
    if cfg.webhook_url:
        targets.append((Channel.WEBHOOK, cfg.webhook_url))
    sent: list[Notification] = []
    with Outbox() as outbox:
        for channel, recipient in targets:
            n = Notification.objects.create(
                event=Event.TEST,
                channel=channel,
                recipient=recipient,
                subject=subject,
                body=body,
                payload=data,
                dedupe_key=key,
            )
            sent.append(send(n, outbox))
    return sent
