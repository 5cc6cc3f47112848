"""The notification log page and the administrator's notification settings."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from cadang.server.accounts.models import Role
from cadang.server.audit.models import AuditEntry
from cadang.server.notify.dispatch import NO_RECIPIENT
from cadang.server.notify.models import Channel, Event, Notification, NotifySettings
from cadang.server.notify.views import PER_PAGE

from server.notify.notify_servers import Mailbox, Webhook

ClientFor = Callable[..., Client]


def row(event: Event, delivered: bool, n: int = 0) -> Notification:
    return Notification.objects.create(
        event=event,
        channel=Channel.EMAIL,
        recipient=f"r{n}@dinas.test",
        subject=f"subject {n}",
        body="b",
        dedupe_key=f"k{n}",
        delivered=delivered,
        error="" if delivered else "mail server not reached: ConnectionRefusedError",
    )


def shown(response: object) -> list[int]:
    return [n.pk for n in response.context["page"]]  # type: ignore[attr-defined]


def admin_client(make_user: Callable[..., User], email: str = "admin@dinas.test") -> Client:
    client = Client()
    client.force_login(make_user("chief", Role.ADMIN, email=email))
    return client


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.UNIT, Role.CRYPTO])
def test_the_log_is_for_the_roles_that_follow_up(client_for: ClientFor, role: Role) -> None:
    assert client_for(role, unit="BKPSDM").get(reverse("notify:list")).status_code == 403


def test_the_log_is_newest_first(client_for: ClientFor) -> None:
    rows = [row(Event.BACKUP_FAILED, True, i) for i in range(3)]
    response = client_for(Role.VERIFIER).get(reverse("notify:list"))
    assert response.status_code == 200
    assert shown(response) == [r.pk for r in reversed(rows)]
    assert b"subject 2" in response.content


def test_the_log_filters_by_event_and_delivery(client_for: ClientFor) -> None:
    ok = row(Event.BACKUP_FAILED, True, 1)
    failed = row(Event.BACKUP_FAILED, False, 2)
    late = row(Event.FORM_LATE, False, 3)
    kabid = client_for(Role.APPROVER)
    url = reverse("notify:list")
    assert shown(kabid.get(url, {"event": "backup_failed"})) == [failed.pk, ok.pk]
    assert shown(kabid.get(url, {"delivered": "no"})) == [late.pk, failed.pk]
    assert shown(kabid.get(url, {"event": "backup_failed", "delivered": "yes"})) == [ok.pk]
    assert kabid.get(url, {"event": "nonsense", "page": "zz"}).status_code == 200


def test_the_log_is_paginated(client_for: ClientFor) -> None:
    for i in range(PER_PAGE + 3):
        row(Event.BACKUP_OVERDUE, True, i)
    auditor = client_for(Role.AUDITOR)
    first = auditor.get(reverse("notify:list"), {"event": "backup_overdue"})
    assert len(shown(first)) == PER_PAGE
    assert b"event=backup_overdue&amp;page=2" in first.content
    assert len(shown(auditor.get(reverse("notify:list"), {"page": 2}))) == 3


def test_the_log_shows_why_nothing_was_sent(client_for: ClientFor) -> None:
    Notification.objects.create(
        event=Event.BACKUP_FAILED,
        channel=Channel.EMAIL,
        recipient="",
        subject="s",
        body="b",
        dedupe_key="k",
        error=NO_RECIPIENT,
    )
    response = client_for(Role.HEAD).get(reverse("notify:list"))
    assert NO_RECIPIENT.encode() in response.content
    assert b"not delivered" in response.content


@pytest.mark.parametrize("role", [Role.VERIFIER, Role.AUDITOR, Role.OPERATOR])
def test_only_the_administrator_edits_settings(client_for: ClientFor, role: Role) -> None:
    client = client_for(role)
    assert client.get(reverse("notify:settings")).status_code == 403
    assert client.post(reverse("notify:settings"), {"webhook_url": "http://x"}).status_code == 403
    assert client.post(reverse("notify:test")).status_code == 403


def test_saving_the_settings_is_audited_with_old_and_new(client_for: ClientFor) -> None:
    admin = client_for(Role.ADMIN)
    assert admin.get(reverse("notify:settings")).status_code == 200
    response = admin.post(
        reverse("notify:settings"),
        {
            "email_enabled": "",
            "webhook_url": "https://chat.dinas.test/hook",
            "webhook_enabled": "on",
        },
    )
    assert response.status_code == 302
    cfg = NotifySettings.load()
    assert (cfg.email_enabled, cfg.webhook_url, cfg.webhook_enabled) == (
        False,
        "https://chat.dinas.test/hook",
        True,
    )
    entry = AuditEntry.objects.get(action="notify_settings_changed")
    assert entry.actor == "user-admin"
    assert entry.details["old"] == {
        "email_enabled": True,
        "webhook_url": "",
        "webhook_enabled": False,
    }
    assert entry.details["new"] == {
        "email_enabled": False,
        "webhook_url": "https://chat.dinas.test/hook",
        "webhook_enabled": True,
    }
    # Saving the same values again changes nothing, and records nothing.
    admin.post(
        reverse("notify:settings"),
        {"webhook_url": "https://chat.dinas.test/hook", "webhook_enabled": "on"},
    )
    assert AuditEntry.objects.filter(action="notify_settings_changed").count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"webhook_url": "ftp://files.dinas.test/", "webhook_enabled": "on"},
            b"Enter a valid URL.",
        ),
        ({"webhook_url": "", "webhook_enabled": "on"}, b"Give the webhook&#x27;s URL"),
    ],
)
def test_bad_settings_are_explained(
    client_for: ClientFor, data: dict[str, str], message: bytes
) -> None:
    response = client_for(Role.ADMIN).post(
        reverse("notify:settings"), {"email_enabled": "on", **data}
    )
    assert response.status_code == 200
    assert message in response.content
    assert NotifySettings.load().webhook_enabled is False
    assert not AuditEntry.objects.filter(action="notify_settings_changed").exists()


def test_the_test_button_reports_both_channels(
    smtp: Mailbox, webhook: Webhook, make_user: Callable[..., User]
) -> None:
    cfg = NotifySettings.load()
    cfg.webhook_url = webhook.url
    cfg.save()
    response = admin_client(make_user).post(reverse("notify:test"), follow=True)
    text = response.content.decode()
    assert "Test e-mail to admin@dinas.test: delivered." in text
    assert f"Test webhook to {webhook.url}: delivered." in text
    assert smtp.messages[0][0] == ["admin@dinas.test"]
    assert webhook.received[0][1]["event"] == "test"
    entry = AuditEntry.objects.get(action="notify_test_sent")
    assert [r["delivered"] for r in entry.details["results"]] == [True, True]


def test_the_test_button_shows_a_failure(smtp_down: int, make_user: Callable[..., User]) -> None:
    response = admin_client(make_user).post(reverse("notify:test"), follow=True)
    text = response.content.decode()
    assert "Test e-mail to admin@dinas.test: not delivered (mail server not reached" in text


def test_the_test_button_without_any_address(make_user: Callable[..., User]) -> None:
    response = admin_client(make_user, email="").post(reverse("notify:test"), follow=True)
    text = response.content.decode()
    assert "Your user has no e-mail address" in text
    assert "Nothing to send to" in text
