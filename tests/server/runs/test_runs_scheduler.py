"""The scheduler with a clock the test moves: due runs at their time, a missed day once,
never two runs of one application at once, retries of failed sources, overdue notices."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

import pytest

from cadang.server.audit.models import AuditEntry
from cadang.server.inventory.models import Application, OfficePlan
from cadang.server.notify.models import Event, Notification
from cadang.server.runs import scheduler as scheduler_module
from cadang.server.runs.executor import claim, execute
from cadang.server.runs.models import Run, RunStatus, Schedule, SourceRun, Trigger
from cadang.server.runs.queueing import queue_run
from cadang.server.runs.scheduler import Scheduler, SchedulerThread, sources_to_retry

from server.runs.runs_helpers import WIB, Catalog, Clock


def wib(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WIB)  # type: ignore[misc]


def scheduled(app: str) -> list[Run]:
    return list(Run.objects.filter(application__name=app, trigger=Trigger.SCHEDULE).order_by("id"))


def test_a_due_schedule_queues_one_run_per_application_at_its_time(
    catalog: Catalog, clock: Clock
) -> None:
    s = Scheduler(clock)
    s.tick()  # the first tick only starts counting: nothing runs at start-up
    assert not Run.objects.exists()
    assert Schedule.objects.get(priority="daily").last_due_at == wib(2026, 11, 20, 1, 0)
    clock.set(wib(2026, 11, 21, 0, 59))
    s.tick()
    assert not Run.objects.exists()
    clock.set(wib(2026, 11, 21, 1, 0))
    s.tick()
    [run] = scheduled("simpeg")  # daily; arsip is weekly (Sunday)
    assert run.status == RunStatus.QUEUED and run.scheduled_for == wib(2026, 11, 21, 1, 0)
    assert run.queued_at == clock() and run.requested_by is None and run.attempt == 1
    assert not scheduled("arsip")
    entry = AuditEntry.objects.get(action="run_queued")
    assert entry.target == f"run {run.pk}" and entry.details["trigger"] == "schedule"
    clock.advance(minutes=1)
    s.tick()
    assert len(scheduled("simpeg")) == 1  # the same due time never twice
    # Sunday 02:00: the weekly schedule's turn.
    clock.set(wib(2026, 11, 22, 2, 0))
    s.tick()
    assert len(scheduled("arsip")) == 1
    assert len(scheduled("simpeg")) == 1  # the run from Saturday still waits: no second one


def test_missed_due_times_after_downtime_run_once(catalog: Catalog, clock: Clock) -> None:
    Scheduler(clock).tick()
    # Down from Friday 10:00 until the next Wednesday 09:00: four daily, one weekly missed.
    clock.set(wib(2026, 11, 25, 9, 0))
    Scheduler(clock).tick()
    [daily] = scheduled("simpeg")
    assert daily.scheduled_for == wib(2026, 11, 25, 1, 0)  # only the latest due time
    [weekly] = scheduled("arsip")
    assert weekly.scheduled_for == wib(2026, 11, 22, 2, 0)
    assert Schedule.objects.get(priority="daily").last_due_at == wib(2026, 11, 25, 1, 0)


def test_a_disabled_schedule_starts_nothing_and_enabling_it_waits_for_the_next_time(
    catalog: Catalog, clock: Clock
) -> None:
    Schedule.objects.filter(priority="daily").update(enabled=False)
    s = Scheduler(clock)
    s.tick()
    clock.set(wib(2026, 11, 21, 1, 0))
    s.tick()
    assert not Run.objects.exists()
    Schedule.objects.filter(priority="daily").update(enabled=True)
    clock.advance(hours=3)
    s.tick()
    assert not Run.objects.exists()
    clock.set(wib(2026, 11, 22, 1, 0))
    s.tick()
    assert len(scheduled("simpeg")) == 1


def test_inactive_applications_are_not_scheduled(catalog: Catalog, clock: Clock) -> None:
    Application.objects.filter(name="simpeg").update(active=False)
    Scheduler(clock).tick()
    clock.set(wib(2026, 11, 21, 1, 0))
    Scheduler(clock).tick()
    assert not Run.objects.exists()


def test_never_two_runs_of_one_application_at_once(catalog: Catalog, clock: Clock) -> None:
    simpeg, arsip = catalog.app("simpeg"), catalog.app("arsip")
    going = queue_run(simpeg, trigger=Trigger.MANUAL, now=clock())
    assert claim(going, clock(), "other-host")
    waiting = queue_run(simpeg, trigger=Trigger.SCHEDULE, now=clock() + dt.timedelta(seconds=1))
    other = queue_run(arsip, trigger=Trigger.SCHEDULE, now=clock() + dt.timedelta(seconds=2))
    s = Scheduler(clock, hostname="server-1")
    done = s.execute_next()
    assert done is not None and done.pk == other.pk  # the older simpeg run has to wait
    assert done.status == RunStatus.SUCCEEDED and done.hostname == "server-1"
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.QUEUED
    assert s.execute_next() is None
    Run.objects.filter(pk=going.pk).update(status=RunStatus.SUCCEEDED, finished_at=clock())
    nxt = s.execute_next()
    assert nxt is not None and nxt.pk == waiting.pk and nxt.status == RunStatus.SUCCEEDED
    assert s.execute_next() is None


def test_the_oldest_queued_run_goes_first(catalog: Catalog, clock: Clock) -> None:
    later = queue_run(catalog.app("simpeg"), trigger=Trigger.MANUAL, now=clock())
    earlier = queue_run(
        catalog.app("arsip"), trigger=Trigger.MANUAL, now=clock() - dt.timedelta(minutes=1)
    )
    s = Scheduler(clock)
    first = s.execute_next()
    assert first is not None and first.pk == earlier.pk
    second = s.execute_next()
    assert second is not None and second.pk == later.pk


def test_failed_sources_are_retried_after_the_delay_and_only_they(
    catalog: Catalog, clock: Clock, tmp_path: Path
) -> None:
    catalog.add_source("simpeg", "scans", tmp_path / "not-there")
    first = execute(
        queue_run(catalog.app("simpeg"), trigger=Trigger.SCHEDULE, now=clock()), clock=clock
    )
    assert first.status == RunStatus.FAILED
    assert sources_to_retry(first) == ["scans"]
    s = Scheduler(clock)  # the daily schedule: 2 retries, 10 minutes apart
    s.queue_due(clock())  # start counting, so only retries are queued below
    clock.advance(minutes=9)
    s.tick()
    assert not Run.objects.filter(trigger=Trigger.RETRY).exists()
    clock.advance(minutes=1)
    s.tick()
    [retry] = Run.objects.filter(trigger=Trigger.RETRY)
    assert retry.retry_of_id == first.pk and retry.attempt == 2
    assert retry.only_sources == ["scans"]
    s.tick()
    assert Run.objects.filter(trigger=Trigger.RETRY).count() == 1  # one retry per failure
    ran = s.execute_next()
    assert ran is not None and ran.pk == retry.pk and ran.status == RunStatus.FAILED
    assert [r.source for r in SourceRun.objects.filter(run=ran)] == ["scans"]
    # The second retry (attempt 3), then no more: retries = 2.
    clock.advance(minutes=10)
    s.tick()
    third = Run.objects.get(retry_of=ran)
    assert third.attempt == 3 and third.only_sources == ["scans"]
    assert s.execute_next() is not None
    clock.advance(minutes=30)
    s.tick()
    assert Run.objects.filter(trigger=Trigger.RETRY).count() == 2


def test_no_retry_when_the_application_ran_again(
    catalog: Catalog, clock: Clock, tmp_path: Path
) -> None:
    catalog.add_source("simpeg", "scans", tmp_path / "not-there")
    first = execute(
        queue_run(catalog.app("simpeg"), trigger=Trigger.SCHEDULE, now=clock()), clock=clock
    )
    assert first.status == RunStatus.FAILED
    queue_run(catalog.app("simpeg"), trigger=Trigger.MANUAL, now=clock())  # someone re-ran it
    clock.advance(minutes=15)
    Scheduler(clock).queue_retries(clock())
    assert not Run.objects.filter(trigger=Trigger.RETRY).exists()


def test_an_interrupted_run_retries_all_its_sources(catalog: Catalog, clock: Clock) -> None:
    run = queue_run(catalog.app("simpeg"), trigger=Trigger.SCHEDULE, now=clock())
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, finished_at=clock())
    clock.advance(minutes=10)
    [retry] = Scheduler(clock).queue_retries(clock())
    assert retry.only_sources == ["files"]


def test_an_overdue_application_is_told_once_a_day(catalog: Catalog, clock: Clock) -> None:
    OfficePlan.objects.filter(pk=1).update(imported_at=clock() - dt.timedelta(days=30))
    simpeg = catalog.app("simpeg")
    ok = queue_run(simpeg, trigger=Trigger.SCHEDULE, now=clock() - dt.timedelta(hours=27))
    Run.objects.filter(pk=ok.pk).update(
        status=RunStatus.SUCCEEDED, finished_at=clock() - dt.timedelta(hours=27)
    )
    s = Scheduler(clock)
    s.tick()

    def told() -> list[str]:
        return sorted(
            Notification.objects.filter(event=Event.BACKUP_OVERDUE).values_list(
                "dedupe_key", flat=True
            )
        )

    # simpeg: 27 h > 26 h for daily. arsip: never backed up in the 30 days since the import.
    assert told() == [
        "overdue:arsip:2026-11-20",
        "overdue:simpeg:2026-11-20",
    ]
    assert AuditEntry.objects.filter(action="backup_overdue").count() == 2
    clock.advance(hours=1)
    s.tick()
    assert len(told()) == 2  # once a day
    clock.set(wib(2026, 11, 21, 9, 0))
    s.tick()
    assert told()[-2:] == ["overdue:simpeg:2026-11-20", "overdue:simpeg:2026-11-21"]
    assert len(told()) == 4
    # A successful run ends it.
    Run.objects.filter(pk=ok.pk).update(finished_at=clock())
    clock.set(wib(2026, 11, 22, 9, 0))
    s.tick()
    assert "overdue:simpeg:2026-11-22" not in told()
    assert "overdue:arsip:2026-11-22" in told()


def test_a_recent_backup_is_not_overdue(catalog: Catalog, clock: Clock) -> None:
    OfficePlan.objects.filter(pk=1).update(imported_at=clock() - dt.timedelta(hours=1))
    ok = queue_run(catalog.app("simpeg"), trigger=Trigger.MANUAL, now=clock())
    Run.objects.filter(pk=ok.pk).update(
        status=RunStatus.SUCCEEDED, finished_at=clock() - dt.timedelta(hours=25)
    )
    assert Scheduler(clock).check_overdue(clock()) == []


def test_late_forms_are_checked_when_the_approvals_app_has_the_check(
    catalog: Catalog, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dt.datetime] = []

    class Lateness:
        @staticmethod
        def notify_late_forms(now: dt.datetime) -> None:
            seen.append(now)

    real = scheduler_module.importlib.import_module

    def fake_import(name: str) -> object:
        return Lateness if name == scheduler_module.LATENESS_MODULE else real(name)

    monkeypatch.setattr(scheduler_module.importlib, "import_module", fake_import)
    s = Scheduler(clock)
    s.tick()
    clock.advance(minutes=1)
    s.tick()  # the periodic checks wait CHECK_EVERY between runs
    clock.advance(minutes=5)
    s.tick()
    assert seen == [wib(2026, 11, 20, 10, 0), wib(2026, 11, 20, 10, 6)]


def test_a_missing_lateness_module_is_not_an_error(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(name: str) -> object:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(scheduler_module.importlib, "import_module", missing)
    scheduler_module.notify_late_forms(dt.datetime.now(dt.UTC))  # no exception


def test_a_failing_part_of_a_tick_does_not_stop_the_others(
    catalog: Catalog,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(self: Scheduler, now: dt.datetime) -> None:
        raise RuntimeError("no retries today")

    monkeypatch.setattr(Scheduler, "queue_retries", broken)
    s = Scheduler(clock)
    s.tick()
    clock.set(wib(2026, 11, 21, 1, 0))
    with caplog.at_level(logging.ERROR):
        s.tick()
    assert len(scheduled("simpeg")) == 1
    assert "queue_retries failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_thread_closes_interrupted_runs_executes_and_stops(
    sample_plan_file: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    from cadang.backends.local import LocalBackend
    from cadang.plan.loader import load_plan
    from cadang.repo.keys import TEST_KDF
    from cadang.repo.repository import Repository
    from cadang.server.defaults import ensure_defaults
    from cadang.server.inventory.catalog import store_plan

    ensure_defaults()
    Repository.init(
        LocalBackend(str(sample_plan_file.parent / "repo")), "test-password", TEST_KDF
    ).close()
    store_plan(load_plan(sample_plan_file))
    simpeg = Application.objects.get(name="simpeg")
    crashed = queue_run(simpeg, trigger=Trigger.MANUAL, now=clock())
    claim(crashed, clock(), "h")
    waiting = queue_run(Application.objects.get(name="arsip"), trigger=Trigger.MANUAL, now=clock())

    stop = threading.Event()
    calls = {"ticks": 0}

    class Once(Scheduler):
        def tick(self) -> None:
            calls["ticks"] += 1
            if calls["ticks"] == 2:
                raise RuntimeError("database away")  # logged, the loop goes on
            if calls["ticks"] >= 3:
                stop.set()
            super().tick()

    thread = SchedulerThread(stop=stop, clock=clock, interval=0, scheduler=Once(clock))
    assert thread.daemon
    with caplog.at_level(logging.ERROR):
        thread.run()  # in this thread: returns once stop is set
    assert Run.objects.get(pk=crashed.pk).status == RunStatus.FAILED
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.SUCCEEDED
    assert calls["ticks"] == 3
    assert "scheduler step failed" in caplog.text
