"""Late forms and months are told to whoever takes the next step, once per wait."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core import mail

from cadang.server.approvals import workflow
from cadang.server.approvals.lateness import notify_late_forms
from cadang.server.audit.models import AuditEntry
from cadang.server.notify.models import Event, Notification

from server.approvals.approvals_factories import MAR_10, make_application, make_form

pytestmark = pytest.mark.usefixtures("defaults")
T = MAR_10


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def recipients(key: str) -> set[str]:
    return set(
        Notification.objects.filter(event=Event.FORM_LATE, dedupe_key=key).values_list(
            "recipient", flat=True
        )
    )


def test_a_form_awaiting_confirmation_is_told_to_the_operators_once(
    operator: User, kasi: User
) -> None:
    form = make_form()
    key = f"late:{form.pk}:awaiting_confirmation"
    assert notify_late_forms(T + minutes(90)) == []  # exactly the standard time: not late
    assert notify_late_forms(T + minutes(91)) == [key]
    assert recipients(key) == {"adb@example.org"}
    assert len(mail.outbox) == 1
    assert form.number in mail.outbox[0].subject
    assert notify_late_forms(T + minutes(200)) == []  # told once
    assert Notification.objects.filter(dedupe_key=key).count() == 1
    assert AuditEntry.objects.filter(action="form_late_notified", target=form.number).count() == 1


def test_a_form_awaiting_verification_is_told_to_the_kasi(operator: User, kasi: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(10))
    assert notify_late_forms(T + minutes(30)) == []  # 20 minutes since the confirmation
    key = f"late:{form.pk}:awaiting_verification"
    assert notify_late_forms(T + minutes(31)) == [key]
    assert recipients(key) == {"kasi@example.org"}


def test_a_returned_form_is_told_again_to_the_operators(operator: User, kasi: User) -> None:
    form = make_form()
    notify_late_forms(T + minutes(100))  # late for its first confirmation
    workflow.confirm(form, operator, "", now=T + minutes(101))
    workflow.return_form(form, kasi, "wrong label", now=T + minutes(110))
    key = f"late:{form.pk}:returned"
    assert notify_late_forms(T + minutes(110 + 91)) == [key]
    assert recipients(key) == {"adb@example.org"}


def test_forms_on_time_and_forms_done_are_not_told(operator: User, kasi: User) -> None:
    done = make_form()
    workflow.confirm(done, operator, "", now=T + minutes(1))
    workflow.verify(done, kasi, "", now=T + minutes(2))
    fresh = make_form(make_application("arsip", "Sekretariat"), filled_at=T + minutes(60))
    assert notify_late_forms(T + minutes(100)) == []
    assert fresh.pk  # filled 40 minutes before: on time


def test_a_month_ready_for_too_long_is_told_to_the_kabid(
    operator: User, kasi: User, kabid: User
) -> None:
    form = make_form()
    verified_at = dt.datetime(2025, 4, 1, 2, 0, tzinfo=dt.UTC)  # after March ended (WIB)
    workflow.confirm(form, operator, "", now=verified_at - minutes(10))
    workflow.verify(form, kasi, "", now=verified_at)
    assert notify_late_forms(verified_at + minutes(20)) == []
    assert notify_late_forms(verified_at + minutes(21)) == ["late:month:2025-03"]
    assert recipients("late:month:2025-03") == {"kabid@example.org"}
    assert notify_late_forms(verified_at + minutes(500)) == []
    workflow.approve_month(form.month, kabid, "", now=verified_at + minutes(600))
    assert notify_late_forms(verified_at + minutes(700)) == []


def test_a_month_not_over_is_not_told(operator: User, kasi: User, kabid: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(1))
    workflow.verify(form, kasi, "", now=T + minutes(2))
    assert notify_late_forms(T + minutes(500)) == []  # still 10 March


def test_many_late_forms_are_told_each_once(operator: User) -> None:
    app = make_application()
    forms = [make_form(app) for _ in range(30)]
    sent = notify_late_forms(T + minutes(91))
    assert sorted(sent) == sorted(f"late:{f.pk}:awaiting_confirmation" for f in forms)
    assert notify_late_forms(T + minutes(92)) == []
