"""The audit log page: newest first, filters, pages, roles; the "verify the chain" button."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from cadang.server.accounts.models import Role
from cadang.server.audit.log import record
from cadang.server.audit.models import AuditEntry
from cadang.server.audit.views import PER_PAGE, LogPaginator

ClientFor = Callable[..., Client]
JAKARTA = ZoneInfo("Asia/Jakarta")


def seqs(response: object) -> list[int]:
    return [e.seq for e in response.context["page"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VERIFIER, Role.UNIT])
def test_only_auditors_and_administrators_see_it(client_for: ClientFor, role: Role) -> None:
    client = client_for(role, unit="BKPSDM")
    assert client.get(reverse("audit:list")).status_code == 403
    assert client.post(reverse("audit:verify")).status_code == 403


def test_entries_newest_first(client_for: ClientFor) -> None:
    auditor = client_for(Role.AUDITOR)
    for i in range(3):
        record("thing_done", actor="budi", target=f"t{i}")
    response = auditor.get(reverse("audit:list"))
    assert response.status_code == 200
    shown = seqs(response)
    assert shown == sorted(shown, reverse=True)
    assert b"thing_done" in response.content and b"<h1>Audit log</h1>" in response.content


def test_filters_by_actor_and_action(client_for: ClientFor) -> None:
    auditor = client_for(Role.AUDITOR)
    record("form_verified", actor="siti", target="0001")
    record("form_verified", actor="budi", target="0002")
    record("run_started", actor="siti", target="simpeg")
    response = auditor.get(reverse("audit:list"), {"actor": "siti", "action": "form_verified"})
    page = list(response.context["page"])
    assert [(e.actor, e.action, e.target) for e in page] == [("siti", "form_verified", "0001")]


def test_filters_by_office_dates(client_for: ClientFor) -> None:
    auditor = client_for(Role.AUDITOR)
    # 23:30 WIB on 1 March is still 1 March at the office, though 16:30 UTC.
    with time_machine.travel(dt.datetime(2026, 3, 1, 23, 30, tzinfo=JAKARTA), tick=False):
        first = record("a", actor="x")
    with time_machine.travel(dt.datetime(2026, 3, 2, 0, 30, tzinfo=JAKARTA), tick=False):
        second = record("a", actor="x")
    with time_machine.travel(dt.datetime(2026, 3, 5, 9, 0, tzinfo=JAKARTA), tick=False):
        third = record("a", actor="x")
    url = reverse("audit:list")
    day = {"action": "a", "since": "2026-03-01", "until": "2026-03-01"}
    assert seqs(auditor.get(url, day)) == [first.seq]
    assert seqs(auditor.get(url, {"action": "a", "since": "2026-03-02"})) == [third.seq, second.seq]
    assert seqs(auditor.get(url, {"action": "a", "until": "2026-03-04"})) == [second.seq, first.seq]


def test_a_reversed_date_range_is_a_message_not_an_error(client_for: ClientFor) -> None:
    response = client_for(Role.AUDITOR).get(
        reverse("audit:list"), {"since": "2026-03-05", "until": "2026-03-01"}
    )
    assert response.status_code == 200
    assert b"The start date is after the end date." in response.content


def test_bad_filter_values_do_not_fail(client_for: ClientFor) -> None:
    response = client_for(Role.AUDITOR).get(
        reverse("audit:list"), {"since": "yesterday", "action": "no-such", "page": "x"}
    )
    assert response.status_code == 200


def test_paginated_and_the_filter_is_kept(client_for: ClientFor) -> None:
    auditor = client_for(Role.AUDITOR)
    for i in range(PER_PAGE + 5):
        record("bulk", actor="x", target=str(i))
    first = auditor.get(reverse("audit:list"), {"action": "bulk"})
    assert len(seqs(first)) == PER_PAGE
    assert b"action=bulk&amp;page=2" in first.content
    second = auditor.get(reverse("audit:list"), {"action": "bulk", "page": 2})
    assert len(seqs(second)) == 5
    assert max(seqs(second)) < min(seqs(first))


def test_the_verify_button_shows_an_intact_chain(client_for: ClientFor) -> None:
    admin = client_for(Role.ADMIN)
    record("a", actor="x")
    record("b", actor="x")
    count = AuditEntry.objects.count()  # with the log-in
    response = admin.post(reverse("audit:verify"))
    assert response.status_code == 200
    assert b'data-intact="yes"' in response.content
    assert f"{count} entries, chain intact.".encode() in response.content
    done = AuditEntry.objects.get(action="audit_chain_verified")
    assert done.actor == "user-admin" and done.details["intact"] is True


def test_the_verify_button_names_the_changed_entry(
    client_for: ClientFor, raw_sql: Callable[..., None]
) -> None:
    auditor = client_for(Role.AUDITOR)
    for i in range(4):
        record("x", actor="x", target=str(i))
    raw_sql("UPDATE {table} SET actor = %s WHERE seq = %s", "mallory", 2)
    response = auditor.post(reverse("audit:verify"))
    assert b'data-intact="no"' in response.content
    assert b"entry 2 was changed" in response.content


def test_verify_needs_post(client_for: ClientFor) -> None:
    assert client_for(Role.AUDITOR).get(reverse("audit:verify")).status_code == 405


def test_the_unfiltered_log_is_counted_by_its_newest_number(
    client_for: Callable[..., Client],
) -> None:
    c = client_for(Role.AUDITOR)
    for i in range(3):
        record("test_action", actor="system", target=str(i))
    newest = AuditEntry.objects.order_by("-seq").first()
    assert newest is not None
    response = c.get("/audit/")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == newest.seq
    assert isinstance(response.context["page"].paginator, LogPaginator)
    # A filter counts what it matched.
    response = c.get("/audit/", {"action": "test_action"})
    assert response.context["page"].paginator.count == 3
    assert b"test_action" in response.content
