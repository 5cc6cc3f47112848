"""The chain's transitions: who may take each step, from which state, and what is recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from cadang.server.accounts.models import Role
from cadang.server.approvals import workflow
from cadang.server.approvals.models import (
    BackupExecutionForm,
    FormState,
    FormStep,
    MonthlyApproval,
    StandardTime,
    Step,
)
from cadang.server.audit.models import AuditEntry
from cadang.server.inventory.models import Application

from server.approvals.approvals_factories import MAR_10, MARCH, make_application, make_form

pytestmark = pytest.mark.usefixtures("defaults")
T = MAR_10  # when the forms are filled
APRIL_2 = dt.datetime(2025, 4, 2, 3, 0, tzinfo=dt.UTC)  # March is over


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def last_audit(action: str) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action).order_by("-seq").first()
    assert entry is not None, f"no audit entry {action!r}"
    return entry


def verified_form(
    operator: User,
    kasi: User,
    app: Application | None = None,
    verified_at: dt.datetime | None = None,
) -> BackupExecutionForm:
    form = make_form(app)
    workflow.confirm(form, operator, "ok", now=form.state_since + minutes(10))
    workflow.verify(form, kasi, "checked", now=verified_at or form.state_since + minutes(5))
    return form


# --- confirm -----------------------------------------------------------------------------


def test_confirm_moves_the_form_to_the_kasi_and_records_the_step(operator: User) -> None:
    form = make_form()
    step = workflow.confirm(form, operator, "  all sources backed up  ", now=T + minutes(30))
    form.refresh_from_db()
    assert form.state == FormState.AWAITING_VERIFICATION
    assert form.state_since == T + minutes(30)
    assert form.operator_remarks == "all sources backed up"
    assert step.step == Step.CONFIRMED
    assert step.user == operator
    assert step.at == T + minutes(30)
    assert step.remarks == "all sources backed up"
    assert step.standard_minutes == 90
    assert step.actual_minutes == 30
    assert not step.late
    entry = last_audit("form_confirmed")
    assert entry.actor == "adb"
    assert entry.target == form.number
    assert entry.details["actual_minutes"] == 30


def test_a_cryptography_officer_may_confirm(make_user: Callable[..., User]) -> None:
    sandi = make_user("sandi", Role.CRYPTO)
    form = make_form()
    workflow.confirm(form, sandi, "", now=T + minutes(1))
    assert form.state == FormState.AWAITING_VERIFICATION


def test_confirm_from_the_wrong_state_is_refused(operator: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(1))
    with pytest.raises(workflow.WrongStateError, match=form.number):
        workflow.confirm(form, operator, "again", now=T + minutes(2))
    assert FormStep.objects.filter(form=form, step=Step.CONFIRMED).count() == 1


@pytest.mark.parametrize(
    "role", [Role.VERIFIER, Role.APPROVER, Role.HEAD, Role.UNIT, Role.AUDITOR, Role.ADMIN]
)
def test_confirm_by_another_role_is_refused(make_user: Callable[..., User], role: Role) -> None:
    user = make_user("someone", role)
    form = make_form()
    with pytest.raises(workflow.NotAllowedError):
        workflow.confirm(form, user, "", now=T + minutes(1))
    form.refresh_from_db()
    assert form.state == FormState.AWAITING_CONFIRMATION


def test_a_returned_form_is_confirmed_again(operator: User, kasi: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "first", now=T + minutes(10))
    workflow.return_form(form, kasi, "the label is wrong", now=T + minutes(20))
    step = workflow.confirm(form, operator, "fixed", now=T + minutes(50))
    assert form.state == FormState.AWAITING_VERIFICATION
    assert step.actual_minutes == 30  # counted from the return, not from the filling
    assert form.operator_remarks == "fixed"


# --- verify and return -------------------------------------------------------------------


def test_verify_after_confirmation(operator: User, kasi: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(10))
    step = workflow.verify(form, kasi, "matches the control list", now=T + minutes(25))
    form.refresh_from_db()
    assert form.state == FormState.VERIFIED
    assert step.step == Step.VERIFIED
    assert step.user == kasi
    assert step.standard_minutes == 20
    assert step.actual_minutes == 15
    assert last_audit("form_verified").actor == "kasi"


def test_verify_before_confirmation_is_refused(kasi: User) -> None:
    form = make_form()
    with pytest.raises(workflow.WrongStateError):
        workflow.verify(form, kasi, "", now=T + minutes(1))
    form.refresh_from_db()
    assert form.state == FormState.AWAITING_CONFIRMATION


def test_verify_by_an_operator_is_refused(operator: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(1))
    with pytest.raises(workflow.NotAllowedError):
        workflow.verify(form, operator, "", now=T + minutes(2))


def test_return_needs_a_reason(operator: User, kasi: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(1))
    for reason in ("", "   \n "):
        with pytest.raises(workflow.ReasonRequiredError):
            workflow.return_form(form, kasi, reason, now=T + minutes(2))
    form.refresh_from_db()
    assert form.state == FormState.AWAITING_VERIFICATION


def test_return_sends_the_form_back_with_the_reason(operator: User, kasi: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(1))
    step = workflow.return_form(form, kasi, "size does not match", now=T + minutes(41))
    form.refresh_from_db()
    assert form.state == FormState.RETURNED
    assert form.return_reason == "size does not match"
    assert step.step == Step.RETURNED
    assert step.remarks == "size does not match"
    assert step.standard_minutes == 20  # the Kasi's check
    assert step.late  # 40 minutes against 20
    assert last_audit("form_returned").details["late"] is True


def test_return_of_an_unconfirmed_form_is_refused(kasi: User) -> None:
    form = make_form()
    with pytest.raises(workflow.WrongStateError):
        workflow.return_form(form, kasi, "why", now=T + minutes(1))


def test_return_by_an_operator_is_refused(operator: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(1))
    with pytest.raises(workflow.NotAllowedError):
        workflow.return_form(form, operator, "why", now=T + minutes(2))


def test_the_confirmer_cannot_verify(operator: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(1))
    # The same person later becomes a Kasi: still not the verifier of their own form.
    operator.profile.role = Role.VERIFIER
    operator.profile.save()
    operator.refresh_from_db()
    with pytest.raises(workflow.SeparationOfDutiesError, match="another person"):
        workflow.verify(form, operator, "", now=T + minutes(2))
    with pytest.raises(workflow.SeparationOfDutiesError):
        workflow.return_form(form, operator, "why", now=T + minutes(2))
    form.refresh_from_db()
    assert form.state == FormState.AWAITING_VERIFICATION


# --- lateness of a step ------------------------------------------------------------------


def test_a_step_past_its_standard_time_is_late(operator: User) -> None:
    on_time, late = make_form(), make_form(make_application("arsip", "Sekretariat"))
    assert not workflow.confirm(on_time, operator, "", now=T + minutes(90)).late
    assert workflow.confirm(late, operator, "", now=T + minutes(91)).late


def test_the_standard_time_comes_from_the_settings(operator: User) -> None:
    StandardTime.objects.filter(step=Step.CONFIRMED).update(minutes=10)
    step = workflow.confirm(make_form(), operator, "", now=T + minutes(11))
    assert step.standard_minutes == 10
    assert step.late


# --- the month ---------------------------------------------------------------------------


def test_month_approval_is_refused_while_a_form_is_unverified(
    operator: User, kasi: User, kabid: User
) -> None:
    verified_form(operator, kasi)
    waiting = make_form(make_application("arsip", "Sekretariat"))
    with pytest.raises(workflow.MonthNotReadyError) as err:
        workflow.approve_month(MARCH, kabid, "", now=APRIL_2)
    assert waiting.number in str(err.value)
    assert not MonthlyApproval.objects.exists()
    assert not FormStep.objects.filter(step=Step.APPROVED).exists()


def test_month_approval_approves_every_form_at_once(
    operator: User, kasi: User, kabid: User
) -> None:
    # The Kasi checks March's last forms on 2 April; the Kabid approves 25 minutes later.
    a = verified_form(operator, kasi, verified_at=APRIL_2 - minutes(30))
    b = verified_form(operator, kasi, make_application("arsip", "Sekretariat"), verified_at=APRIL_2)
    last_verified = APRIL_2
    other_month = make_form(finished_at=dt.datetime(2025, 4, 1, 1, 0, tzinfo=dt.UTC))
    approval = workflow.approve_month(
        dt.date(2025, 3, 17), kabid, "good month", now=last_verified + minutes(25)
    )
    assert approval.month == MARCH
    assert approval.approved_by == kabid
    assert approval.form_count == 2
    for form in (a, b):
        form.refresh_from_db()
        assert form.state == FormState.APPROVED
        step = FormStep.objects.get(form=form, step=Step.APPROVED)
        assert step.approval == approval
        assert step.user == kabid
        assert step.remarks == "good month"
        assert step.standard_minutes == 20
        assert step.actual_minutes == 25  # since the month's last verification
        assert step.late
    other_month.refresh_from_db()
    assert other_month.state == FormState.AWAITING_CONFIRMATION
    entry = last_audit("month_approved")
    assert entry.target == "2025-03"
    assert entry.details["forms"] == 2


def test_a_month_is_approved_once(operator: User, kasi: User, kabid: User) -> None:
    verified_form(operator, kasi)
    workflow.approve_month(MARCH, kabid, "", now=APRIL_2)
    with pytest.raises(workflow.WrongStateError, match="already approved"):
        workflow.approve_month(MARCH, kabid, "", now=APRIL_2)
    assert MonthlyApproval.objects.count() == 1


def test_an_open_month_cannot_be_approved(operator: User, kasi: User, kabid: User) -> None:
    verified_form(operator, kasi)
    with pytest.raises(workflow.MonthNotReadyError, match="not over"):
        # 31 March, 23:30 WIB: still March in the office.
        workflow.approve_month(
            MARCH, kabid, "", now=dt.datetime(2025, 3, 31, 16, 30, tzinfo=dt.UTC)
        )


def test_an_empty_month_cannot_be_approved(kabid: User) -> None:
    with pytest.raises(workflow.MonthNotReadyError, match="no forms"):
        workflow.approve_month(MARCH, kabid, "", now=APRIL_2)


def test_month_approval_by_a_kasi_is_refused(operator: User, kasi: User) -> None:
    verified_form(operator, kasi)
    with pytest.raises(workflow.NotAllowedError):
        workflow.approve_month(MARCH, kasi, "", now=APRIL_2)


def test_the_refusal_names_a_few_forms_and_counts_the_rest(kabid: User) -> None:
    app = make_application()
    for _ in range(12):
        make_form(app)
    with pytest.raises(workflow.MonthNotReadyError) as err:
        workflow.approve_month(MARCH, kabid, "", now=APRIL_2)
    assert "0001/FPB/III/2025" in str(err.value)
    assert "and 2 more" in str(err.value)
