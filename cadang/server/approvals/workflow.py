"""The approval chain of the Backup Execution Form (SOP 002, 000, 003) as four transitions.

The machine fills the form (:mod:`cadang.server.approvals.filling`); then the operator
confirms it with remarks, the Kasi verifies it or returns it with a reason (a returned form
goes back to the operator), and the Kabid approves a finished month of verified forms at
once. Each transition records a :class:`FormStep` (who, when, the standard time of the step
and the minutes it actually took, counted from when the step became possible) and an audit
entry. A transition that may not happen raises a :class:`WorkflowError` whose message the
pages show as is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cadang.server.accounts.roles import can
from cadang.server.approvals.models import (
    BackupExecutionForm,
    FormState,
    FormStep,
    MonthlyApproval,
    Step,
)
from cadang.server.approvals.months import month_is_over, month_start
from cadang.server.approvals.standards import minutes_between, standard_minutes
from cadang.server.audit.log import record

MAX_NAMED = 10  # forms named in a refusal; the rest are counted


class WorkflowError(Exception):
    """A transition that may not happen; ``message`` is translated, for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotAllowedError(WorkflowError):
    """The user's role does not take this step."""


class WrongStateError(WorkflowError):
    """The form (or month) is not in a state this step starts from."""


class ReasonRequiredError(WorkflowError):
    """A form is returned without a reason."""


class SeparationOfDutiesError(WorkflowError):
    """The person who confirmed a form may not verify it too."""


class MonthNotReadyError(WorkflowError):
    """The month cannot be approved yet (open, empty, or with forms not verified)."""


def _require(user: Any, action: str) -> None:
    if not can(user, action):
        raise NotAllowedError(_("Your role may not take this step."))


def _locked(form: BackupExecutionForm) -> BackupExecutionForm:
    """The form re-read under a row lock, so two people acting at once cannot both win."""
    return BackupExecutionForm.objects.select_for_update().get(pk=form.pk)


def _wrong_state(form: BackupExecutionForm) -> WrongStateError:
    return WrongStateError(
        _("Form %(number)s is %(state)s; this step cannot be taken now.")
        % {"number": form.number, "state": form.get_state_display()}
    )


def _advance(
    form: BackupExecutionForm,
    current: BackupExecutionForm,
    *,
    step: Step,
    state: FormState,
    user: Any,
    remarks: str,
    now: dt.datetime,
    fields: dict[str, str],
) -> FormStep:
    """Record ``step`` on the locked ``current`` and move it to ``state``; copy to ``form``."""
    taken = FormStep.objects.create(
        form=current,
        step=step,
        user=user,
        at=now,
        remarks=remarks,
        standard_minutes=standard_minutes(step),
        actual_minutes=minutes_between(current.state_since, now),
    )
    current.state = state
    current.state_since = now
    for name, value in fields.items():
        setattr(current, name, value)
    current.save(update_fields=["state", "state_since", *fields])
    for name in ("state", "state_since", *fields):
        setattr(form, name, getattr(current, name))
    return taken


def _audit(action: str, user: Any, form: BackupExecutionForm, taken: FormStep) -> None:
    record(
        action,
        user=user,
        target=form.number,
        details={
            "form": form.pk,
            "application": form.application.name,
            "state": form.state,
            "remarks": taken.remarks,
            "standard_minutes": taken.standard_minutes,
            "actual_minutes": taken.actual_minutes,
            "late": taken.late,
        },
    )


def confirm(
    form: BackupExecutionForm, user: Any, remarks: str = "", now: dt.datetime | None = None
) -> FormStep:
    """The operator (or cryptography officer) confirms what the machine filled in."""
    _require(user, "confirm_form")
    now = now or timezone.now()
    remarks = remarks.strip()
    with transaction.atomic():
        current = _locked(form)
        if current.state not in (FormState.AWAITING_CONFIRMATION, FormState.RETURNED):
            raise _wrong_state(current)
        taken = _advance(
            form,
            current,
            step=Step.CONFIRMED,
            state=FormState.AWAITING_VERIFICATION,
            user=user,
            remarks=remarks,
            now=now,
            fields={"operator_remarks": remarks},
        )
        _audit("form_confirmed", user, current, taken)
    return taken


def _confirmed_by(form: BackupExecutionForm, user: Any) -> bool:
    return FormStep.objects.filter(form=form, step=Step.CONFIRMED, user_id=user.pk).exists()


def _awaiting_verification(form: BackupExecutionForm, user: Any) -> BackupExecutionForm:
    """The form, locked, if it waits for the Kasi and ``user`` did not confirm it (the Kasi's
    two steps, verify and return, share both rules)."""
    current = _locked(form)
    if current.state != FormState.AWAITING_VERIFICATION:
        raise _wrong_state(current)
    if _confirmed_by(current, user):
        raise SeparationOfDutiesError(
            _("You confirmed form %(number)s; another person must verify it.")
            % {"number": current.number}
        )
    return current


def verify(
    form: BackupExecutionForm, user: Any, remarks: str = "", now: dt.datetime | None = None
) -> FormStep:
    """The Kasi checks the confirmed form and verifies it (SOP 002: receives and checks)."""
    _require(user, "verify_form")
    now = now or timezone.now()
    with transaction.atomic():
        current = _awaiting_verification(form, user)
        taken = _advance(
            form,
            current,
            step=Step.VERIFIED,
            state=FormState.VERIFIED,
            user=user,
            remarks=remarks.strip(),
            now=now,
            fields={},
        )
        _audit("form_verified", user, current, taken)
    return taken


def return_form(
    form: BackupExecutionForm, user: Any, reason: str, now: dt.datetime | None = None
) -> FormStep:
    """The Kasi sends the form back to the operator, saying why."""
    _require(user, "verify_form")
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequiredError(_("Give the reason for returning the form."))
    now = now or timezone.now()
    with transaction.atomic():
        current = _awaiting_verification(form, user)
        taken = _advance(
            form,
            current,
            step=Step.RETURNED,
            state=FormState.RETURNED,
            user=user,
            remarks=reason,
            now=now,
            fields={"return_reason": reason},
        )
        _audit("form_returned", user, current, taken)
    return taken


def unverified_numbers(forms: list[BackupExecutionForm]) -> str:
    """The numbers of the forms not verified, the first few named and the rest counted."""
    numbers = [f.number for f in forms]
    named = ", ".join(numbers[:MAX_NAMED])
    rest = len(numbers) - MAX_NAMED
    if rest > 0:
        named += " " + _("and %(count)d more") % {"count": rest}
    return named


def approve_month(
    month: dt.date, user: Any, remarks: str = "", now: dt.datetime | None = None
) -> MonthlyApproval:
    """The Kabid approves a finished month whose forms are all verified (SOP 000, 003)."""
    _require(user, "approve_month")
    now = now or timezone.now()
    first = month_start(month)
    label = first.strftime("%Y-%m")
    remarks = remarks.strip()
    with transaction.atomic():
        forms = list(
            BackupExecutionForm.objects.select_for_update()
            .filter(month=first)
            .order_by("year", "seq")
        )
        if MonthlyApproval.objects.filter(month=first).exists():
            raise WrongStateError(_("The month %(month)s is already approved.") % {"month": label})
        if not month_is_over(first, now):
            raise MonthNotReadyError(
                _("The month %(month)s is not over yet: forms of it may still come.")
                % {"month": label}
            )
        if not forms:
            raise MonthNotReadyError(
                _("The month %(month)s has no forms to approve.") % {"month": label}
            )
        pending = [f for f in forms if f.state != FormState.VERIFIED]
        if pending:
            raise MonthNotReadyError(
                _("Not every form of %(month)s is verified: %(forms)s.")
                % {"month": label, "forms": unverified_numbers(pending)}
            )
        # The month became approvable when its last form was verified.
        ready_since = max(f.state_since for f in forms)
        approval = MonthlyApproval.objects.create(
            month=first, approved_by=user, approved_at=now, remarks=remarks, form_count=len(forms)
        )
        standard = standard_minutes(Step.APPROVED)
        actual = minutes_between(ready_since, now)
        FormStep.objects.bulk_create(
            FormStep(
                form=f,
                step=Step.APPROVED,
                user=user,
                at=now,
                remarks=remarks,
                standard_minutes=standard,
                actual_minutes=actual,
                approval=approval,
            )
            for f in forms
        )
        BackupExecutionForm.objects.filter(pk__in=[f.pk for f in forms]).update(
            state=FormState.APPROVED, state_since=now
        )
        record(
            "month_approved",
            user=user,
            target=label,
            details={
                "forms": len(forms),
                "remarks": remarks,
                "standard_minutes": standard,
                "actual_minutes": actual,
                "late": actual > standard,
            },
        )
    return approval
