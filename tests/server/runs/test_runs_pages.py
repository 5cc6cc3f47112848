"""The runs pages: the list, one run with its live part, starting a backup, the schedules."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from cadang.server.accounts.models import Role
from cadang.server.approvals.filling import fill_form
from cadang.server.audit.models import AuditEntry
from cadang.server.runs.executor import execute
from cadang.server.runs.models import Run, RunStatus, Schedule, SourceRun, Trigger
from cadang.server.runs.queueing import queue_run

from server.runs.runs_helpers import WIB, Catalog, Clock

ClientFor = Callable[..., Client]


def wib(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WIB)  # type: ignore[misc]


def a_run(catalog: Catalog, app: str = "simpeg", **kw: object) -> Run:
    kw.setdefault("trigger", Trigger.SCHEDULE)
    kw.setdefault("now", timezone.now())
    return queue_run(catalog.app(app), **kw)  # type: ignore[arg-type]


# --- starting a backup ---------------------------------------------------------------------


def test_an_operator_starts_a_backup_and_lands_on_its_page(
    catalog: Catalog, client_for: ClientFor
) -> None:
    c = client_for(Role.OPERATOR, username="adb")
    page = c.get("/runs/")
    assert page.status_code == 200
    assert b'id="start-run"' in page.content
    response = c.post("/runs/start/", {"application": "simpeg"})
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.pk}/"
    assert run.trigger == Trigger.MANUAL and run.status == RunStatus.QUEUED
    assert run.requested_by is not None and run.requested_by.username == "adb"
    entry = AuditEntry.objects.get(action="run_started")
    assert entry.actor == "adb" and entry.target == f"run {run.pk}"
    assert entry.details["application"] == "simpeg"
    shown = c.get(response["Location"])
    assert b"is queued as run" in shown.content


def test_a_second_start_points_to_the_run_already_waiting(
    catalog: Catalog, client_for: ClientFor
) -> None:
    waiting = a_run(catalog)
    c = client_for(Role.OPERATOR)
    response = c.post("/runs/start/", {"application": "simpeg"}, follow=True)
    assert Run.objects.count() == 1
    assert response.redirect_chain[-1][0] == f"/runs/{waiting.pk}/"
    assert b"already has a backup in progress (run" in response.content
    assert not AuditEntry.objects.filter(action="run_started").exists()


@pytest.mark.parametrize("role", [Role.VERIFIER, Role.APPROVER, Role.HEAD, Role.UNIT, Role.AUDITOR])
def test_roles_that_may_not_start_runs_get_403(
    catalog: Catalog, client_for: ClientFor, role: Role
) -> None:
    c = client_for(role, unit="BKPSDM")
    assert c.post("/runs/start/", {"application": "simpeg"}).status_code == 403
    assert not Run.objects.exists()
    assert b'id="start-run"' not in c.get("/runs/").content


def test_starting_needs_post_and_a_known_application(
    catalog: Catalog, client_for: ClientFor
) -> None:
    c = client_for(Role.ADMIN)
    assert c.get("/runs/start/").status_code == 405
    response = c.post("/runs/start/", {"application": "no-such-app"}, follow=True)
    assert response.status_code == 200
    assert b"Choose an application to back up" in response.content
    assert not Run.objects.exists()


def test_starting_wakes_the_scheduler(catalog: Catalog, client_for: ClientFor) -> None:
    from cadang.server.runs import scheduler

    scheduler._WAKE.clear()
    client_for(Role.CRYPTO).post("/runs/start/", {"application": "arsip"})
    assert scheduler._WAKE.is_set()
    scheduler._WAKE.clear()


# --- who sees what -------------------------------------------------------------------------


def test_a_unit_sees_only_its_own_runs(catalog: Catalog, client_for: ClientFor) -> None:
    mine = a_run(catalog, "simpeg")  # owner BKPSDM
    theirs = a_run(catalog, "arsip")  # owner Sekretariat
    c = client_for(Role.UNIT, unit="BKPSDM")
    listing = c.get("/runs/").content.decode()
    assert f'data-run="{mine.pk}"' in listing and f'data-run="{theirs.pk}"' not in listing
    assert c.get(f"/runs/{mine.pk}/").status_code == 200
    assert c.get(f"/runs/{theirs.pk}/").status_code == 404
    assert c.get(f"/runs/{theirs.pk}/live/").status_code == 404
    assert c.get("/runs/999999/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(catalog: Catalog, client: Client) -> None:
    run = a_run(catalog)
    for url in ("/runs/", f"/runs/{run.pk}/", f"/runs/{run.pk}/live/", "/runs/schedules/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- the list ------------------------------------------------------------------------------


def test_the_list_filters_and_pages(catalog: Catalog, client_for: ClientFor) -> None:
    base = timezone.now() - dt.timedelta(days=10)
    for i in range(60):
        run = a_run(catalog, "simpeg", now=base + dt.timedelta(minutes=i))
        if i % 3 == 0:
            Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    a_run(catalog, "arsip")
    c = client_for(Role.AUDITOR)
    first = c.get("/runs/").content.decode()
    assert first.count("data-run=") == 50
    assert "Page 1 of 2 (61 runs)" in first
    second = c.get("/runs/?page=2").content.decode()
    assert second.count("data-run=") == 11
    failed = c.get("/runs/?application=simpeg&status=failed").content.decode()
    assert failed.count("data-run=") == 20 and "Page" not in failed
    assert c.get("/runs/?application=arsip").content.decode().count("data-run=") == 1
    # Nonsense in the address is ignored, never a 500.
    assert c.get("/runs/?status=bogus&page=zzz").status_code == 200


def test_the_list_takes_a_fixed_number_of_queries(
    catalog: Catalog, client_for: ClientFor, django_assert_max_num_queries: object
) -> None:
    for _ in range(30):
        a_run(catalog)
    c = client_for(Role.ADMIN)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        assert c.get("/runs/").status_code == 200


# --- one run, live -------------------------------------------------------------------------


def test_a_waiting_run_polls_and_a_finished_one_stops(
    catalog: Catalog, client_for: ClientFor
) -> None:
    run = a_run(catalog)
    c = client_for(Role.OPERATOR)
    page = c.get(f"/runs/{run.pk}/").content.decode()
    assert f'hx-get="/runs/{run.pk}/live/"' in page and 'hx-trigger="every 2s"' in page
    fragment = c.get(f"/runs/{run.pk}/live/")
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert text.lstrip().startswith('<div id="run-live"')  # only the fragment, no page
    assert "<html" not in text and 'hx-trigger="every 2s"' in text
    # Part-way: the progress line and the sources finished so far.
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, progress="files: succeeded (1 of 2)"
    )
    SourceRun.objects.create(run=run, source="files", kind="files", status="succeeded", size=2048)
    text = c.get(f"/runs/{run.pk}/live/").content.decode()
    assert "files: succeeded (1 of 2)" in text and 'data-source="files"' in text
    assert "2.0\xa0KB" in text
    # Finished, the form not yet filled: it keeps asking a little longer, for the form's link.
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, finished_at=timezone.now())
    text = c.get(f"/runs/{run.pk}/live/").content.decode()
    assert 'hx-trigger="every 2s"' in text
    assert 'data-status="succeeded"' in text
    # With its form: no more polling, and the link is there.
    fill_form(Run.objects.get(pk=run.pk))
    text = c.get(f"/runs/{run.pk}/live/").content.decode()
    assert "hx-get" not in text and "hx-trigger" not in text
    assert 'data-testid="form-link"' in text
    # A run that ended long ago without a form (e.g. the form failed) does not poll forever.
    other = a_run(catalog)
    Run.objects.filter(pk=other.pk).update(
        status=RunStatus.FAILED, finished_at=timezone.now() - dt.timedelta(minutes=5)
    )
    text = c.get(f"/runs/{other.pk}/live/").content.decode()
    assert "hx-get" not in text


def test_a_finished_run_shows_checks_sources_and_its_form(
    catalog: Catalog, client_for: ClientFor, clock: Clock
) -> None:
    run = execute(a_run(catalog, now=clock()), clock=clock)
    assert run.status == RunStatus.SUCCEEDED
    c = client_for(Role.VERIFIER)
    page = c.get(f"/runs/{run.pk}/").content.decode()
    assert "<h1>Run" in page and "backup of simpeg" in page
    assert 'id="run-checks"' in page and "network" in page and "antivirus" in page
    assert "uji-simpeg-files-20261120-1000" in page
    assert "passed" in page and "restore test" in page
    number = run.form.number
    assert number in page
    link = re.search(r'<a href="([^"]+)" id="run-form"', page)
    assert link is not None and link.group(1) == f"/forms/{run.form.pk}/"
    assert 'data-testid="form-link"' in page and 'data-testid="run-status"' in page
    assert "hx-trigger" not in page
    assert 'id="start-run"' not in page  # a verifier may not start runs


def test_a_failed_run_shows_its_error(
    catalog: Catalog, client_for: ClientFor, clock: Clock
) -> None:
    run = a_run(catalog, now=clock())
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.FAILED, error="interrupted: the server stopped", finished_at=clock()
    )
    c = client_for(Role.OPERATOR)
    page = c.get(f"/runs/{run.pk}/").content.decode()
    assert 'id="run-error"' in page and "interrupted: the server stopped" in page
    assert "No source was backed up." in page
    assert 'id="start-run"' in page  # start it again


def test_a_retry_links_to_the_run_it_retries(catalog: Catalog, client_for: ClientFor) -> None:
    first = a_run(catalog)
    Run.objects.filter(pk=first.pk).update(status=RunStatus.FAILED)
    retry = a_run(catalog, trigger=Trigger.RETRY, retry_of=first, attempt=2, only_sources=["files"])
    c = client_for(Role.ADMIN)
    page = c.get(f"/runs/{retry.pk}/").content.decode()
    assert f'href="/runs/{first.pk}/" id="retry-of"' in page
    assert "Only these sources" in page
    assert f'href="/runs/{retry.pk}/"' in c.get(f"/runs/{first.pk}/").content.decode()


# --- schedules -----------------------------------------------------------------------------


def test_only_administrators_edit_schedules(catalog: Catalog, client_for: ClientFor) -> None:
    assert client_for(Role.OPERATOR).get("/runs/schedules/").status_code == 403
    assert client_for(Role.VERIFIER).post("/runs/schedules/", {}).status_code == 403
    page = client_for(Role.ADMIN).get("/runs/schedules/")
    assert page.status_code == 200
    text = page.content.decode()
    for priority in ("daily", "weekly", "monthly"):
        assert f'id="schedule-form-{priority}"' in text
    assert "Next backup:" in text


def test_changing_a_schedule_is_saved_and_audited(catalog: Catalog, client_for: ClientFor) -> None:
    c = client_for(Role.ADMIN, username="admin")
    response = c.post(
        "/runs/schedules/",
        {
            "priority": "weekly",
            "weekly-time_of_day": "22:30",
            "weekly-weekday": "4",
            "weekly-enabled": "on",
            "weekly-retries": "3",
            "weekly-retry_delay_minutes": "15",
        },
    )
    assert response.status_code == 302
    weekly = Schedule.objects.get(priority="weekly")
    assert weekly.time_of_day == dt.time(22, 30) and weekly.weekday == 4
    assert weekly.retries == 3 and weekly.retry_delay_minutes == 15 and weekly.enabled
    assert weekly.day_of_month is None
    entry = AuditEntry.objects.get(action="schedule_changed")
    assert entry.actor == "admin" and entry.target == "schedule weekly"
    assert entry.details["changes"] == {
        "time_of_day": {"old": "02:00", "new": "22:30"},
        "weekday": {"old": 6, "new": 4},
        "retries": {"old": 2, "new": 3},
        "retry_delay_minutes": {"old": 10, "new": 15},
    }


def test_a_changed_time_does_not_start_a_second_backup_the_same_day(
    catalog: Catalog, client_for: ClientFor, clock: Clock
) -> None:
    from cadang.server.runs.scheduler import Scheduler

    # Today's 01:00 backup has been started; at 10:00 the time moves to 03:00.
    Schedule.objects.filter(priority="daily").update(last_due_at=wib(2026, 11, 20, 1, 0))
    c = client_for(Role.ADMIN)
    with time_machine.travel(clock(), tick=False):
        response = c.post(
            "/runs/schedules/",
            {
                "priority": "daily",
                "daily-time_of_day": "03:00",
                "daily-enabled": "on",
                "daily-retries": "2",
                "daily-retry_delay_minutes": "10",
            },
        )
    assert response.status_code == 302
    assert Schedule.objects.get(priority="daily").last_due_at == wib(2026, 11, 20, 3, 0)
    s = Scheduler(clock)
    s.queue_due(clock())
    assert not Run.objects.exists()
    clock.set(wib(2026, 11, 21, 3, 0))
    assert len(s.queue_due(clock())) == 1


@pytest.mark.parametrize(
    ("priority", "fields", "message"),
    [
        ("weekly", {"weekly-weekday": ""}, "A weekly schedule needs a day of the week."),
        ("weekly", {"weekly-weekday": "7"}, "Select a valid choice."),
        ("monthly", {"monthly-day_of_month": ""}, "A monthly schedule needs a day of the month"),
        ("monthly", {"monthly-day_of_month": "31"}, "less than or equal to 28"),
        ("monthly", {"monthly-day_of_month": "0"}, "greater than or equal to 1"),
        ("daily", {"daily-time_of_day": "25:99"}, "Enter a valid time."),
        ("daily", {"daily-retries": "-1"}, "greater than or equal to 0"),
    ],
)
def test_bad_schedule_values_are_refused_with_a_message(
    catalog: Catalog, client_for: ClientFor, priority: str, fields: dict[str, str], message: str
) -> None:
    before = Schedule.objects.get(priority=priority)
    data = {
        "priority": priority,
        f"{priority}-time_of_day": "04:00",
        f"{priority}-enabled": "on",
        f"{priority}-retries": "2",
        f"{priority}-retry_delay_minutes": "10",
        f"{priority}-weekday": "0",
        f"{priority}-day_of_month": "5",
    }
    data.update(fields)
    response = client_for(Role.ADMIN).post("/runs/schedules/", data)
    assert response.status_code == 200
    text = response.content.decode()
    assert "The schedule was not saved" in text
    assert message in text
    after = Schedule.objects.get(priority=priority)
    assert after.time_of_day == before.time_of_day
    assert not AuditEntry.objects.filter(action="schedule_changed").exists()


def test_an_unknown_schedule_is_404(catalog: Catalog, client_for: ClientFor) -> None:
    assert (
        client_for(Role.ADMIN).post("/runs/schedules/", {"priority": "hourly"}).status_code == 404
    )


def test_the_whole_list_is_counted_once_a_minute_and_a_filtered_one_each_time(
    catalog: Catalog, client_for: ClientFor
) -> None:
    from django.core.cache import cache

    c = client_for(Role.OPERATOR)
    a_run(catalog)
    first = c.get("/runs/")
    assert first.context["page"].paginator.count == 1
    assert cache.get("cadang-runs-count") == 1
    a_run(catalog, app="arsip")
    # The whole list keeps its cached count for a minute; a filtered one counts again.
    assert c.get("/runs/").context["page"].paginator.count == 1
    assert c.get("/runs/", {"application": "arsip"}).context["page"].paginator.count == 1
    cache.delete("cadang-runs-count")
    assert c.get("/runs/").context["page"].paginator.count == 2
