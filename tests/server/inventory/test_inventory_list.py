"""The list (last run in one query, filters), the detail page and the six-monthly review."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cadang.server.accounts.models import Role
from cadang.server.audit.models import AuditEntry
from cadang.server.inventory.importer import ImportResult
from cadang.server.inventory.models import Application, InventoryReview
from cadang.server.inventory.reviews import add_months, mark_reviewed, review_status
from cadang.server.runs.models import Run, RunStatus, SourceRun, Trigger

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def add_run(app: Application, status: str, started: dt.datetime) -> Run:
    run = Run.objects.create(
        application=app, trigger=Trigger.SCHEDULE, status=status, started_at=started
    )
    Run.objects.filter(pk=run.pk).update(queued_at=started)
    return run


@pytest.fixture
def admin(imported: ImportResult, client_for: Callable[..., Client]) -> Client:
    return client_for(Role.ADMIN, username="admin1")


def rows(response: Any) -> dict[str, dict[str, Any]]:
    return {r["app"].name: r for r in response.context["rows"]}


def test_list_shows_the_last_run_of_each(admin: Client) -> None:
    simpeg = Application.objects.get(name="simpeg")
    add_run(simpeg, RunStatus.SUCCEEDED, dt.datetime(2026, 3, 1, 18, 0, tzinfo=UTC))
    add_run(simpeg, RunStatus.FAILED, dt.datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    add_run(simpeg, RunStatus.SUCCEEDED, dt.datetime(2026, 2, 1, 18, 0, tzinfo=UTC))
    response = admin.get("/inventory/")
    assert response.status_code == 200
    shown = rows(response)
    assert shown["simpeg"]["last_status"] == RunStatus.FAILED
    assert shown["simpeg"]["last_status_label"] == "failed"
    assert shown["simpeg"]["last_at"] == dt.datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    assert shown["simpeg"]["sources"] == 1
    assert shown["arsip"]["last_status"] is None
    assert b"3 Mar 2026 01:00" in response.content  # in the office's time (WIB)


def test_list_is_one_query_however_many_runs(admin: Client) -> None:
    apps = list(Application.objects.all())
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    for app in apps:
        Run.objects.bulk_create(
            Run(
                application=app,
                trigger=Trigger.SCHEDULE,
                status=RunStatus.SUCCEEDED,
                started_at=start + dt.timedelta(days=d),
            )
            for d in range(50)
        )
    with CaptureQueriesContext(connection) as queries:
        response = admin.get("/inventory/")
    assert response.status_code == 200
    assert len(response.context["rows"]) == 2
    touching_runs = [q["sql"] for q in queries.captured_queries if "runs_run" in q["sql"]]
    assert len(touching_runs) == 1
    assert "inventory_application" in touching_runs[0]


def test_filters_by_priority_and_owner(admin: Client) -> None:
    assert list(rows(admin.get("/inventory/?priority=weekly"))) == ["arsip"]
    assert list(rows(admin.get("/inventory/?owner=BKPSDM"))) == ["simpeg"]
    assert list(rows(admin.get("/inventory/?owner=BKPSDM&priority=weekly"))) == []


def test_removed_applications_only_on_request(admin: Client) -> None:
    Application.objects.filter(name="arsip").update(active=False)
    assert list(rows(admin.get("/inventory/"))) == ["simpeg"]
    assert list(rows(admin.get("/inventory/?removed=1"))) == ["simpeg", "arsip"]


def test_detail_shows_sources_runs_and_no_secret_references(admin: Client) -> None:
    app = Application.objects.get(name="simpeg")
    run = add_run(app, RunStatus.PARTIAL, dt.datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    SourceRun.objects.create(run=run, source="files", kind="files", status="partial")
    config = dict(app.config)
    config["sources"] = [
        *config["sources"],
        {"type": "postgres", "name": "db", "host": "10.0.0.5", "password_file": "/etc/pg.pass"},
    ]
    Application.objects.filter(pk=app.pk).update(config=config)
    response = admin.get("/inventory/simpeg/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "<h1>Application simpeg</h1>" in content
    assert "10.0.0.5" in content
    assert "password: from a file" in content
    assert "/etc/pg.pass" not in content
    assert [r["run"].pk for r in response.context["runs"]] == [run.pk]
    assert "partial" in content


def test_detail_lists_at_most_twenty_runs(admin: Client) -> None:
    app = Application.objects.get(name="simpeg")
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    made = [add_run(app, RunStatus.SUCCEEDED, start + dt.timedelta(days=d)) for d in range(25)]
    shown = [r["run"].pk for r in admin.get("/inventory/simpeg/").context["runs"]]
    assert shown == [r.pk for r in reversed(made)][:20]


# --- the six-monthly review ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "due"),
    [
        ((2026, 1, 15), (2026, 7, 15)),
        ((2025, 8, 31), (2026, 2, 28)),  # February is shorter: its last day
        ((2026, 9, 30), (2027, 3, 30)),  # into the next year
    ],
)
def test_add_months_keeps_the_day_or_takes_the_last(
    start: tuple[int, int, int], due: tuple[int, int, int]
) -> None:
    assert add_months(dt.datetime(*start, tzinfo=UTC), 6) == dt.datetime(*due, tzinfo=UTC)


def test_never_reviewed_is_overdue(db: None) -> None:
    status = review_status(timezone.now())
    assert status.last is None and status.overdue


def test_review_is_due_six_months_later(db: None, make_user: Callable[..., Any]) -> None:
    admin = make_user("admin1", Role.ADMIN)
    reviewed = dt.datetime(2026, 1, 10, 3, 0, tzinfo=UTC)  # 10:00 WIB
    mark_reviewed(admin, "semua unit menyerahkan data", reviewed)
    before = review_status(dt.datetime(2026, 7, 10, 2, 59, tzinfo=UTC))
    assert before.due == dt.datetime(2026, 7, 10, 3, 0, tzinfo=UTC)
    assert not before.overdue
    assert review_status(dt.datetime(2026, 7, 10, 3, 0, tzinfo=UTC)).overdue


def test_admin_marks_the_inventory_reviewed(admin: Client) -> None:
    listing = admin.get("/inventory/")
    assert b"has not been reviewed yet" in listing.content
    response = admin.post("/inventory/review/", {"remarks": "Rapat koordinasi semester I"})
    assert response.status_code == 302
    review = InventoryReview.objects.get()
    assert review.remarks == "Rapat koordinasi semester I"
    assert review.application_count == 2
    assert review.reviewed_by is not None and review.reviewed_by.get_username() == "admin1"
    entry = AuditEntry.objects.get(action="inventory_reviewed")
    assert entry.actor == "admin1"
    listing = admin.get("/inventory/")
    assert b"Next review due on" in listing.content
    assert b'id="review-overdue"' not in listing.content
    history = admin.get("/inventory/reviews/")
    assert b"Rapat koordinasi semester I" in history.content


def test_overdue_review_is_warned(admin: Client, make_user: Callable[..., Any]) -> None:
    InventoryReview.objects.create(
        reviewed_at=timezone.now() - dt.timedelta(days=200), remarks="lama"
    )
    content = admin.get("/inventory/").content
    assert b'id="review-overdue"' in content
    assert b"is overdue" in content


def test_review_needs_a_post(admin: Client) -> None:
    assert admin.get("/inventory/review/").status_code == 405
