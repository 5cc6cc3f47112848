"""Applications, finished runs and their forms for the approvals tests (and the role matrix).

Imported as ``server.approvals.approvals_factories`` (``tests`` is on the path).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User

from cadang.server.approvals.filling import fill_form
from cadang.server.approvals.models import BackupExecutionForm
from cadang.server.inventory.models import Application, OfficePlan
from cadang.server.runs.models import Run, RunStatus, SourceRun, Trigger

UTC = dt.UTC
# 10 March 2025, 02:00 WIB (UTC+7): a month long over whenever the tests run.
MAR_10 = dt.datetime(2025, 3, 9, 19, 0, tzinfo=UTC)
MARCH = dt.date(2025, 3, 1)


def make_office(name: str = "Dinas Komunikasi dan Informatika Kabupaten Uji") -> None:
    OfficePlan.objects.update_or_create(
        pk=1, defaults={"document": {"organization": {"name": name, "code": "uji"}}}
    )


def make_application(
    name: str = "simpeg",
    owner: str = "BKPSDM",
    priority: str = "daily",
    classification: str = "internal",
) -> Application:
    config: dict[str, Any] = {
        "name": name,
        "owner": owner,
        "priority": priority,
        "classification": classification,
        "sources": [{"name": "db", "type": "files", "paths": ["/srv/data"]}],
    }
    app, _created = Application.objects.get_or_create(
        name=name,
        defaults={
            "owner": owner,
            "priority": priority,
            "classification": classification,
            "config": config,
        },
    )
    return app


CHECKLIST = {
    "organization": "Dinas Uji",
    "hostname": "srv1",
    "started": "2025-03-10T02:00:00+07:00",
    "status": "warning",
    "skipped": "",
    "records": [
        {
            "kind": "database",
            "subject": "simpeg/db",
            "started": "2025-03-10T02:00:00+07:00",
            "duration": 0.2,
            "result": "passed",
            "summary": "database answers",
        },
        {
            "kind": "antivirus",
            "subject": "simpeg/db",
            "started": "2025-03-10T02:00:01+07:00",
            "duration": 1.0,
            "result": "warning",
            "summary": "ClamAV signatures are old",
        },
    ],
}


def make_run(
    app: Application,
    *,
    status: str = RunStatus.SUCCEEDED,
    finished_at: dt.datetime = MAR_10,
    requested_by: User | None = None,
    verified: str = "passed",
) -> Run:
    run = Run.objects.create(
        application=app,
        trigger=Trigger.MANUAL if requested_by else Trigger.SCHEDULE,
        status=status,
        started_at=finished_at - dt.timedelta(minutes=5),
        finished_at=finished_at,
        requested_by=requested_by,
        checklist=CHECKLIST,
        report={"copies": [{"repository": "usb", "status": "copied", "message": "1 copied"}]},
        hostname="srv1",
        error="" if status == RunStatus.SUCCEEDED else "the dump tool failed",
    )
    SourceRun.objects.create(
        run=run,
        source="db",
        kind="files",
        repository="main",
        status="succeeded" if status == RunStatus.SUCCEEDED else "failed",
        label=f"uji-{app.name}-db-{finished_at:%Y%m%d-%H%M}",
        snapshot_id="ab" * 32,
        size=5 * 1024 * 1024,
        data_added=1024 * 1024,
        files=12,
        duration=3.5,
        verified=verified,
        verification="restored into a scratch database" if verified else "",
    )
    return run


def make_form(
    app: Application | None = None,
    *,
    status: str = RunStatus.SUCCEEDED,
    finished_at: dt.datetime = MAR_10,
    filled_at: dt.datetime | None = None,
    verified: str = "passed",
) -> BackupExecutionForm:
    """A form filled by the machine at ``filled_at`` (default: when the run finished)."""
    run = make_run(
        app or make_application(), status=status, finished_at=finished_at, verified=verified
    )
    form = fill_form(run)
    at = filled_at or finished_at
    form.created_at = at
    form.state_since = at
    form.save(update_fields=["created_at", "state_since"])
    form.steps.update(at=at)
    return form
