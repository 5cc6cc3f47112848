"""Delivering notifications: e-mail over SMTP (Django's mail) or a JSON POST webhook.

:func:`deliver` is the one way out; it never raises. A failure (a mail server that is down
or refuses, a webhook that times out or answers other than 2xx) comes back as a short
reason, which the dispatcher keeps on the notification. Every network step has a timeout:
the scheduler that reports a failed backup must not hang on a dead mail server.

An :class:`Outbox` delivers several notifications over one SMTP connection, so a mail
server that cannot be reached costs one timeout per call of ``notify``, not one per
recipient.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from types import TracebackType
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend

from cadang import __version__
from cadang.server.notify.models import Channel, Notification

WEBHOOK_TIMEOUT = 10.0
SMTP_TIMEOUT = 20.0  # when EMAIL_TIMEOUT is not set
ERROR_BODY_BYTES = 200  # of a webhook's error answer, kept with the failure
MAX_ERROR = 1000


class DeliveryError(Exception):
    """A transport's reason for not delivering; its text is what the log shows."""


def reason(exc: BaseException) -> str:
    if isinstance(exc, DeliveryError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    return text[:MAX_ERROR]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirected POST would arrive as a GET without its body: report it instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, payload: object, timeout: float = WEBHOOK_TIMEOUT) -> int:
    """POST ``payload`` as JSON; the HTTP status when it is 2xx, else DeliveryError."""
    if not url.startswith(("http://", "https://")):
        raise DeliveryError(f"not an http(s) URL: {url}")
    req = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"cadang/{__version__}",
        },
        method="POST",
    )
    try:
        with _opener.open(req, timeout=timeout) as resp:
            status = int(resp.status)
            resp.read(ERROR_BODY_BYTES)
    except urllib.error.HTTPError as exc:  # 3xx (not followed), 4xx, 5xx
        try:
            answer = exc.read(ERROR_BODY_BYTES).decode("utf-8", "replace").strip()
        except OSError:
            answer = ""
        finally:
            exc.close()
        raise DeliveryError(
            f"webhook answered HTTP {exc.code} {exc.reason}" + (f": {answer}" if answer else "")
        ) from None
    except urllib.error.URLError as exc:  # refused, unknown host, timed out connecting
        why = exc.reason if isinstance(exc.reason, BaseException) else DeliveryError(exc.reason)
        raise DeliveryError(f"webhook not reached: {reason(why)}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook answered HTTP {status}")
    return status


class Outbox:
    """Delivers notifications; e-mails share one SMTP connection, opened on first use."""

    def __init__(self) -> None:
        self._mail: BaseEmailBackend | None = None
        self._mail_error: str | None = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def deliver(self, n: Notification) -> str | None:
        """Send ``n``; None when it was accepted, else the reason it was not. Never raises."""
        try:
            if n.channel == Channel.EMAIL:
                self._email(n)
            elif n.channel == Channel.WEBHOOK:
                post_json(n.recipient, n.payload)
            else:
                raise DeliveryError(f"unknown channel {n.channel!r}")
        except (DeliveryError, OSError, smtplib.SMTPException, ValueError) as exc:
            # smtplib's errors and socket timeouts are OSErrors; a bad header is a ValueError.
            return reason(exc)
        return None

    def _connection(self) -> BaseEmailBackend:
        if self._mail_error is not None:
            raise DeliveryError(self._mail_error)
        if self._mail is None:
            timeout = getattr(settings, "EMAIL_TIMEOUT", None) or SMTP_TIMEOUT
            mail = get_connection(fail_silently=False, timeout=timeout)
            try:
                mail.open()
            except (OSError, smtplib.SMTPException, ValueError) as exc:
                self._mail_error = f"mail server not reached: {reason(exc)}"
                raise DeliveryError(self._mail_error) from None
            self._mail = mail
        return self._mail

    def _email(self, n: Notification) -> None:
        if not n.recipient:
            raise DeliveryError("no e-mail address")
        message = EmailMessage(
            subject=n.subject,
            body=n.body,
            to=[n.recipient],
            connection=self._connection(),
            # Tells vacation responders and mail loops that no person sent this.
            headers={"Auto-Submitted": "auto-generated"},
        )
        if message.send() != 1:
            raise DeliveryError("the mail server did not accept the message")

    def close(self) -> None:
        if self._mail is not None:
            try:
                self._mail.close()
            except (OSError, smtplib.SMTPException):
                pass  # the messages are sent or their failure recorded; QUIT is courtesy
            self._mail = None


def deliver(n: Notification) -> str | None:
    """Send one notification on its own; None when it was accepted, else why not."""
    with Outbox() as outbox:
        return outbox.deliver(n)
