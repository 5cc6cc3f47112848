"""Telling people that a form waits for them past its standard time (mutu baku).

The scheduler calls :func:`notify_late_forms` on every tick. Each late wait is told once:
the notification's key names the form and its state (``late:<pk>:<state>``), so a form
returned and confirmed again is told again, and a month ready for approval is told once
(``late:month:<YYYY-MM>``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from cadang.server.accounts.models import Role
from cadang.server.approvals.models import BackupExecutionForm, FormState
from cadang.server.approvals.months import ReadyMonth, ready_months
from cadang.server.approvals.standards import NEXT_STEP, all_standard_minutes, minutes_between
from cadang.server.audit.log import record
from cadang.server.notify.dispatch import notify
from cadang.server.notify.models import Event, Notification

# Who takes the step each waiting state needs.
RESPONSIBLE = {
    FormState.AWAITING_CONFIRMATION: [Role.OPERATOR],
    FormState.RETURNED: [Role.OPERATOR],
    FormState.AWAITING_VERIFICATION: [Role.VERIFIER],
}
CHUNK = 500


@dataclass(frozen=True)
class LateItem:
    """One late wait: a form in a waiting state, or a month ready for approval."""

    key: str
    roles: list[Role]
    minutes: float
    standard: int
    form: BackupExecutionForm | None = None
    month: ReadyMonth | None = None

    @property
    def target(self) -> str:
        if self.form is not None:
            return self.form.number
        assert self.month is not None
        return self.month.month.strftime("%Y-%m")


def late_items(now: dt.datetime) -> list[LateItem]:
    """Every form (and month) waiting past its standard time at ``now``."""
    standards = all_standard_minutes()
    waiting = Q()
    for state in RESPONSIBLE:
        deadline = now - dt.timedelta(minutes=standards[NEXT_STEP[state]])
        waiting |= Q(state=state, state_since__lt=deadline)
    items: list[LateItem] = []
    forms = BackupExecutionForm.objects.filter(waiting).select_related("application")
    for form in forms.order_by("state_since", "id").iterator(chunk_size=CHUNK):
        state = FormState(form.state)
        items.append(
            LateItem(
                key=f"late:{form.pk}:{state.value}",
                roles=RESPONSIBLE[state],
                minutes=minutes_between(form.state_since, now),
                standard=standards[NEXT_STEP[state]],
                form=form,
            )
        )
    standard = standards[NEXT_STEP[FormState.VERIFIED]]
    for ready in ready_months(now):
        minutes = minutes_between(ready.ready_since, now)
        if minutes > standard:
            items.append(
                LateItem(
                    key=f"late:month:{ready.month:%Y-%m}",
                    roles=[Role.APPROVER],
                    minutes=minutes,
                    standard=standard,
                    month=ready,
                )
            )
    return items


def _when(moment: dt.datetime) -> str:
    return str(formats.date_format(timezone.localtime(moment), "j F Y H:i"))


def message(item: LateItem) -> tuple[str, str]:
    """The subject and body telling of ``item``, in the active language."""
    if item.form is not None:
        form = item.form
        state = FormState(form.state)
        subject = _("Form %(number)s is late: %(state)s") % {
            "number": form.number,
            "state": state.label,
        }
        body = _(
            "Form %(number)s (%(application)s) has been %(state)s since %(since)s: "
            "%(minutes)d minutes, past its standard time of %(standard)d minutes."
        ) % {
            "number": form.number,
            "application": form.application.name,
            "state": state.label,
            "since": _when(form.state_since),
            "minutes": item.minutes,
            "standard": item.standard,
        }
        return subject, body
    assert item.month is not None
    subject = _("The month %(month)s awaits approval") % {"month": item.target}
    body = _(
        "Every form of %(month)s (%(count)d) has been verified since %(since)s: "
        "%(minutes)d minutes, past the approval's standard time of %(standard)d minutes."
    ) % {
        "month": item.target,
        "count": item.month.forms,
        "since": _when(item.month.ready_since),
        "minutes": item.minutes,
        "standard": item.standard,
    }
    return subject, body


def already_told(keys: list[str]) -> set[str]:
    """The keys among ``keys`` already notified (in chunks: SQLite limits the parameters)."""
    told: set[str] = set()
    for i in range(0, len(keys), CHUNK):
        told.update(
            Notification.objects.filter(
                event=Event.FORM_LATE, dedupe_key__in=keys[i : i + CHUNK]
            ).values_list("dedupe_key", flat=True)
        )
    return told


def notify_late_forms(now: dt.datetime | None = None) -> list[str]:
    """Notify whoever must act on each late form or month not told yet; the keys told."""
    now = now or timezone.now()
    items = late_items(now)
    told = already_told([i.key for i in items])
    sent: list[str] = []
    for item in items:
        if item.key in told:
            continue
        with translation.override(settings.LANGUAGE_CODE):  # e-mails in the office's language
            subject, body = message(item)
        notify(
            Event.FORM_LATE,
            subject=subject,
            body=body,
            dedupe_key=item.key,
            roles=item.roles,
            application=item.form.application if item.form else None,
            payload={
                "target": item.target,
                "minutes": item.minutes,
                "standard_minutes": item.standard,
            },
        )
        record(
            "form_late_notified",
            actor="",
            target=item.target,
            details={
                "key": item.key,
                "roles": [r.value for r in item.roles],
                "minutes": item.minutes,
                "standard_minutes": item.standard,
            },
        )
        sent.append(item.key)
    return sent
