"""Check records and checklists: results, attention, JSON round trips."""

from __future__ import annotations

import datetime as dt
import json

from cadang.checks.base import (
    Checklist,
    CheckRecord,
    Finding,
    Result,
    overall,
    perform,
)
from cadang.errors import SourceError

WHEN = dt.datetime(2025, 3, 1, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def record(result: Result, escalate: bool = False, kind: str = "database") -> CheckRecord:
    return CheckRecord(kind, "siak/db", WHEN.isoformat(), 0.1, result, "s", escalate=escalate)


def test_perform_times_and_maps_errors() -> None:
    rec = perform(
        "database",
        "siak/db",
        lambda: Finding(Result.PASSED, "reachable", {"size": 3}),
        app="siak",
        source="db",
        clock=lambda: WHEN,
    )
    assert rec.result is Result.PASSED and rec.details == {"size": 3}
    assert rec.started == "2025-03-01T23:00:00+08:00"
    assert rec.duration >= 0 and not rec.escalate
    assert (rec.app, rec.source) == ("siak", "db")

    def broken() -> Finding:
        raise SourceError("the database is gone", hint="start it")

    rec = perform("database", "siak/db", broken)
    assert rec.result is Result.FAILED and rec.escalate
    assert (rec.summary, rec.hint) == ("the database is gone", "start it")

    def no_disk() -> Finding:
        raise FileNotFoundError(2, "No such file or directory", "/media/x")

    rec = perform("storage", "repository x", no_disk)
    assert rec.result is Result.FAILED and rec.summary == "/media/x: No such file or directory"
    # A warning may be escalated on purpose (an infection under on_infection: warn).
    rec = perform("antivirus", "a/b", lambda: Finding(Result.WARNING, "virus", escalate=True))
    assert rec.escalate


def test_record_json_round_trip() -> None:
    rec = CheckRecord(
        "antivirus",
        "siak/berkas",
        WHEN.isoformat(),
        1.5,
        Result.WARNING,
        "1 infected file",
        {"infected": [{"path": "/srv/x", "signature": "Eicar"}]},
        escalate=True,
        hint="clean it",
        app="siak",
        source="berkas",
    )
    data = json.loads(json.dumps(rec.to_json()))
    assert data["result"] == "warning"
    assert CheckRecord.from_json(data) == rec


def test_checklist_status_attention_and_exit_code() -> None:
    def cl(*records: CheckRecord, skipped: str = "") -> Checklist:
        return Checklist("Dinas", "host", WHEN.isoformat(), records=list(records), skipped=skipped)

    assert cl().status is Result.PASSED and cl().exit_code == 0
    ok = cl(record(Result.PASSED), record(Result.SKIPPED))
    assert ok.status is Result.PASSED and not ok.needs_attention and ok.exit_code == 0
    assert cl(record(Result.SKIPPED)).status is Result.SKIPPED
    warn = cl(record(Result.PASSED), record(Result.WARNING))
    assert warn.status is Result.WARNING and warn.exit_code == 0 and not warn.needs_attention
    bad = cl(record(Result.WARNING), record(Result.FAILED, escalate=True))
    assert bad.status is Result.FAILED and bad.exit_code == 1 and bad.needs_attention
    assert bad.failures() == [bad.records[1]]
    skipped = cl(skipped="skipped on request")
    assert skipped.status is Result.SKIPPED and skipped.needs_attention
    assert overall([Result.SKIPPED, Result.WARNING]) is Result.WARNING


def test_checklist_json_round_trip() -> None:
    checklist = Checklist(
        "Dinas Uji Coba",
        "backup-01",
        WHEN.isoformat(),
        duration=2.5,
        apps=["siak", "arsip"],
        records=[record(Result.PASSED), record(Result.FAILED, escalate=True, kind="storage")],
        escalation=[{"name": "Made Wirawan", "role": "Kasi", "phone": "0812"}],
        origin="run",
    )
    data = json.loads(json.dumps(checklist.to_json()))
    assert data["status"] == "failed" and data["needs_attention"] is True
    assert data["counts"] == {"passed": 1, "warning": 0, "failed": 1, "skipped": 0}
    back = Checklist.from_json(data)
    assert back == checklist
