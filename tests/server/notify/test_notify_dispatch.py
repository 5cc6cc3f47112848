"""notify(): recipients, dedupe, and delivery over real SMTP and HTTP on the loopback."""

from __future__ import annotations

from collections.abc import Callable
from email.header import decode_header, make_header

import pytest
from django.contrib.auth.models import User

from cadang.server.accounts.models import Role
from cadang.server.inventory.models import Application
from cadang.server.notify import dispatch
from cadang.server.notify.dispatch import ALL_OFF, NO_RECIPIENT, notify, recipients
from cadang.server.notify.models import Channel, Event, Notification, NotifySettings
from cadang.server.notify.transports import Outbox

from server.notify.notify_servers import Mailbox, Webhook

MakeUser = Callable[..., User]


def app(name: str, owner: str) -> Application:
    return Application.objects.create(
        name=name, owner=owner, priority="daily", classification="internal", config={}
    )


def subject_of(message: object) -> str:
    return str(make_header(decode_header(message["Subject"])))  # type: ignore[index]


def webhook_only(url: str) -> None:
    cfg = NotifySettings.load()
    cfg.email_enabled = False
    cfg.webhook_enabled = True
    cfg.webhook_url = url
    cfg.save()


def test_the_mail_arrives_with_subject_and_body(smtp: Mailbox, make_user: MakeUser) -> None:
    make_user("kasi", Role.VERIFIER, email="kasi@dinas.test")
    make_user("kabid", Role.APPROVER, email="kabid@dinas.test")
    sent = notify(
        Event.BACKUP_FAILED,
        subject="Back up gagal: simpeg — 1 Maret",
        body="Back up aplikasi simpeg gagal.\nMohon ditindaklanjuti.",
        dedupe_key="run:1",
    )
    assert sorted(n.recipient for n in sent) == ["kabid@dinas.test", "kasi@dinas.test"]
    assert all(n.delivered and n.error == "" and n.sent_at is not None for n in sent)
    assert sorted(to[0] for to, _m in smtp.messages) == ["kabid@dinas.test", "kasi@dinas.test"]
    _to, message = smtp.messages[0]
    assert subject_of(message) == "Back up gagal: simpeg — 1 Maret"
    text = message.get_payload(decode=True).decode(message.get_content_charset())  # type: ignore[union-attr]
    assert "Mohon ditindaklanjuti." in text
    assert message["Auto-Submitted"] == "auto-generated"
    stored = Notification.objects.get(recipient="kasi@dinas.test")
    assert stored.delivered and stored.channel == Channel.EMAIL


def test_a_mail_server_that_is_down_is_recorded_not_raised(
    smtp_down: int, make_user: MakeUser
) -> None:
    make_user("kasi", Role.VERIFIER, email="kasi@dinas.test")
    make_user("kabid", Role.APPROVER, email="kabid@dinas.test")
    sent = notify(Event.BACKUP_FAILED, subject="s", body="b", dedupe_key="run:2")
    assert len(sent) == 2
    for n in Notification.objects.all():
        assert not n.delivered
        assert n.sent_at is not None
        assert "mail server not reached" in n.error
        assert "refused" in n.error.lower()


def test_the_webhook_receives_the_json(webhook: Webhook, db: None) -> None:
    webhook_only(webhook.url)
    simpeg = app("simpeg", "BKPSDM")
    [n] = notify(
        Event.CHECK_FAILED,
        subject="Pemeriksaan gagal: simpeg",
        body="Antivirus menemukan berkas terinfeksi.",
        dedupe_key="check:7",
        application=simpeg,
        payload={"run": 7},
    )
    assert n.delivered and n.channel == Channel.WEBHOOK and n.recipient == webhook.url
    [(headers, body)] = webhook.received
    assert headers["Content-Type"].startswith("application/json")
    assert body == {
        "event": "check_failed",
        "subject": "Pemeriksaan gagal: simpeg",
        "message": "Antivirus menemukan berkas terinfeksi.",
        "application": "simpeg",
        "run": 7,
    }


def test_a_webhook_error_answer_is_a_failure(webhook: Webhook, db: None) -> None:
    webhook.status = 500
    webhook_only(webhook.url)
    [n] = notify(Event.BACKUP_FAILED, subject="s", body="b", dedupe_key="k")
    n.refresh_from_db()
    assert not n.delivered
    assert "HTTP 500" in n.error and "boom" in n.error
    assert len(webhook.received) == 1


def test_a_webhook_redirect_is_not_followed(webhook: Webhook, db: None) -> None:
    webhook.status = 302
    webhook_only(webhook.url)
    [n] = notify(Event.BACKUP_FAILED, subject="s", body="b", dedupe_key="k")
    assert not n.delivered and "HTTP 302" in n.error


def test_a_webhook_nobody_listens_on_is_a_failure(closed_port: int, db: None) -> None:

    webhook_only(f"http://127.0.0.1:{closed_port}/hook")
    [n] = notify(Event.BACKUP_FAILED, subject="s", body="b", dedupe_key="k")
    assert not n.delivered and "webhook not reached" in n.error


def test_the_same_key_twice_tells_once(smtp: Mailbox, make_user: MakeUser) -> None:
    make_user("kasi", Role.VERIFIER, email="kasi@dinas.test")
    first = notify(Event.BACKUP_OVERDUE, subject="s", body="b", dedupe_key="overdue:simpeg:1")
    again = notify(Event.BACKUP_OVERDUE, subject="s", body="b", dedupe_key="overdue:simpeg:1")
    assert len(first) == 1 and again == []
    assert Notification.objects.count() == 1
    assert len(smtp.messages) == 1
    # The key is per event: another event with the same key is told.
    assert (
        len(notify(Event.BACKUP_FAILED, subject="s", body="b", dedupe_key="overdue:simpeg:1")) == 1
    )


def test_recipients_by_role_and_unit(make_user: MakeUser) -> None:
    make_user("kasi", Role.VERIFIER, email="kasi@dinas.test")
    make_user("ops", Role.OPERATOR, email="ops@dinas.test")
    make_user("bkpsdm", Role.UNIT, unit="BKPSDM", email="bkpsdm@dinas.test")
    make_user("setda", Role.UNIT, unit="Sekretariat", email="setda@dinas.test")
    make_user("no-mail", Role.VERIFIER)
    gone = make_user("gone", Role.VERIFIER, email="gone@dinas.test")
    gone.is_active = False
    gone.save()
    simpeg = app("simpeg", "BKPSDM")
    assert recipients([Role.VERIFIER, Role.UNIT], simpeg) == [
        "bkpsdm@dinas.test",
        "kasi@dinas.test",
    ]
    assert recipients([Role.VERIFIER, Role.UNIT], None) == ["kasi@dinas.test"]
    assert recipients([Role.OPERATOR], simpeg) == ["ops@dinas.test"]


def test_extra_addresses_are_added_once(smtp: Mailbox, make_user: MakeUser) -> None:
    make_user("kasi", Role.VERIFIER, email="kasi@dinas.test")
    sent = notify(
        Event.CHECK_FAILED,
        subject="s",
        body="b",
        dedupe_key="k",
        roles=[Role.VERIFIER],
        extra_emails=["KASI@dinas.test", "kepala@dinas.test", ""],
    )
    assert [n.recipient for n in sent] == ["kasi@dinas.test", "kepala@dinas.test"]


def test_no_recipient_is_kept_with_the_reason(make_user: MakeUser) -> None:
    make_user("kasi", Role.VERIFIER)  # no e-mail address
    [n] = notify(Event.BACKUP_FAILED, subject="s", body="b", dedupe_key="k")
    assert n.pk is not None and not n.delivered and n.recipient == "" and n.error == NO_RECIPIENT
    assert notify(Event.BACKUP_FAILED, subject="s", body="b", dedupe_key="k") == []


def test_everything_switched_off_is_kept_with_the_reason(db: None) -> None:
    cfg = NotifySettings.load()
    cfg.email_enabled = False
    cfg.save()
    [n] = notify(Event.BACKUP_FAILED, subject="s", body="b", dedupe_key="k")
    assert n.error == ALL_OFF and not n.delivered


def test_a_broken_transport_does_not_stop_the_caller(
    make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("kasi", Role.VERIFIER, email="kasi@dinas.test")

    def broken(self: Outbox, n: Notification) -> str | None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Outbox, "deliver", broken)
    [n] = notify(Event.BACKUP_FAILED, subject="s", body="b", dedupe_key="k")
    n.refresh_from_db()
    assert not n.delivered and n.error == "RuntimeError: a bug"


def test_a_subject_with_a_line_break_still_sends(smtp: Mailbox, make_user: MakeUser) -> None:
    make_user("kasi", Role.VERIFIER, email="kasi@dinas.test")
    [n] = notify(Event.BACKUP_FAILED, subject="Back up gagal:\nsimpeg", body="b", dedupe_key="k")
    assert n.delivered and n.subject == "Back up gagal: simpeg"
    assert subject_of(smtp.messages[0][1]) == "Back up gagal: simpeg"


def test_the_test_notification_goes_to_both_channels(
    smtp: Mailbox, webhook: Webhook, db: None
) -> None:
    cfg = NotifySettings.load()
    cfg.webhook_url = webhook.url  # not switched on: a test tries it anyway
    cfg.save()
    sent = dispatch.send_test("admin@dinas.test")
    assert [(n.channel, n.delivered, n.event) for n in sent] == [
        (Channel.EMAIL, True, Event.TEST),
        (Channel.WEBHOOK, True, Event.TEST),
    ]
    assert smtp.messages[0][0] == ["admin@dinas.test"]
    assert webhook.received[0][1]["event"] == "test"
