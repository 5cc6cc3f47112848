"""Whom a finished run must be told about, and what (SOP 000: failures go to the Kasi and
the Kabid; the ADB follows them up).

Every notification carries a ``dedupe_key`` naming the run (or the application and day,
for an overdue backup), so a run finished twice or a periodic check repeated every half
minute tells people once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cadang.plan.model import Plan
from cadang.server.accounts.models import Role
from cadang.server.audit.log import record
from cadang.server.inventory.models import Application
from cadang.server.notify.dispatch import notify
from cadang.server.notify.models import Event
from cadang.server.runs.models import Run, RunStatus
from cadang.server.runs.wording import word

# The ADB (operator) acts on a failure; the Kasi and the Kabid must know of it.
FAILURE_ROLES = (Role.OPERATOR, Role.VERIFIER, Role.APPROVER)


def escalation_emails(plan: Plan | None) -> list[str]:
    """The e-mail addresses of the plan's escalation contacts."""
    if plan is None:
        return []
    return [c.email for c in plan.escalation if c.email]


def _when(run: Run) -> str:
    moment = run.finished_at or run.started_at or run.queued_at
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _payload(run: Run) -> dict[str, Any]:
    return {"run": run.pk, "status": run.status, "attempt": run.attempt}


def failed_checks(run: Run) -> list[dict[str, Any]]:
    """The failed records of the run's pre-backup checklist."""
    records = (run.checklist or {}).get("records") or []
    return [r for r in records if r.get("result") == "failed"]


def notify_after_run(run: Run, plan: Plan | None) -> None:
    """Tell people about a failed check, a failed or partial backup, a failed verification."""
    app = run.application
    values = {"app": app.name, "when": _when(run), "run": run.pk}
    checks = failed_checks(run)
    if checks:
        lines = [f"- {r.get('subject', '')}: {r.get('summary', '')}" for r in checks]
        notify(
            Event.CHECK_FAILED,
            subject=_("Pre-backup check failed: %(app)s") % values,
            body=_("The pre-backup checks of %(app)s (run %(run)s, %(when)s) found a problem:")
            % values
            + "\n"
            + "\n".join(lines),
            dedupe_key=f"check_failed:run:{run.pk}",
            payload=_payload(run),
            roles=FAILURE_ROLES,
            application=app,
            extra_emails=escalation_emails(plan),
        )
    bad = list(run.sources.exclude(status="succeeded"))
    # A run failed only by its verification is told below, not as a failed backup.
    backup_bad = bool(bad) or bool(run.error) or not run.sources.exists()
    if run.status in (RunStatus.FAILED, RunStatus.PARTIAL) and backup_bad:
        lines = [f"- {s.source}: {word(s.status)} {s.error}".rstrip() for s in bad]
        if run.error:
            lines.insert(0, run.error)
        notify(
            Event.BACKUP_FAILED,
            subject=(
                _("Backup failed: %(app)s")
                if run.status == RunStatus.FAILED
                else _("Backup incomplete: %(app)s")
            )
            % values,
            body=_("The backup of %(app)s (run %(run)s, %(when)s) did not fully succeed:") % values
            + "\n"
            + "\n".join(lines),
            dedupe_key=f"backup_failed:run:{run.pk}",
            payload=_payload(run),
            roles=FAILURE_ROLES,
            application=app,
        )
    unverified = list(run.sources.filter(verified="failed"))
    if unverified:
        lines = [f"- {s.source}: {s.verification}" for s in unverified]
        notify(
            Event.VERIFICATION_FAILED,
            subject=_("Verification failed: %(app)s") % values,
            body=_("A backup of %(app)s (run %(run)s, %(when)s) could not be verified:") % values
            + "\n"
            + "\n".join(lines),
            dedupe_key=f"verification_failed:run:{run.pk}",
            payload=_payload(run),
            roles=FAILURE_ROLES,
            application=app,
        )


def notify_overdue(app: Application, last_good: dt.datetime | None, now: dt.datetime) -> bool:
    """Tell people once a day that ``app`` has no recent good backup; True if told now."""
    day = timezone.localtime(now).date().isoformat()
    values = {
        "app": app.name,
        "last": timezone.localtime(last_good).strftime("%Y-%m-%d %H:%M") if last_good else "-",
    }
    sent = notify(
        Event.BACKUP_OVERDUE,
        subject=_("Backup overdue: %(app)s") % values,
        body=(
            _("%(app)s has had no successful backup since %(last)s.")
            if last_good
            else _("%(app)s has had no successful backup yet.")
        )
        % values,
        dedupe_key=f"overdue:{app.name}:{day}",
        payload={"last_good": last_good.isoformat() if last_good else None},
        roles=FAILURE_ROLES,
        application=app,
    )
    if sent:
        record(
            "backup_overdue",
            actor="",
            target=app.name,
            details={"last_good": last_good.isoformat() if last_good else None, "day": day},
        )
    return bool(sent)
