"""The forms' pages: list, document, actions, inbox, month report, standard times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from cadang.server.accounts.models import Role
from cadang.server.approvals import workflow
from cadang.server.approvals.models import FormState, MonthlyApproval, StandardTime, Step
from cadang.server.audit.models import AuditEntry
from cadang.server.runs.models import RunStatus

from server.approvals.approvals_factories import (
    MAR_10,
    MARCH,
    make_application,
    make_form,
    make_office,
)

pytestmark = pytest.mark.usefixtures("defaults")
T = MAR_10


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def login(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def text(response: HttpResponseBase) -> str:
    return response.content.decode()


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


MONTH_URL = reverse("approvals:month", args=[2025, 3])


# --- list ----------------------------------------------------------------------------------


def test_the_list_shows_forms_and_filters_them(operator: User) -> None:
    a = make_form()
    b = make_form(make_application("arsip", "Sekretariat"), status=RunStatus.FAILED)
    april = make_form(finished_at=dt.datetime(2025, 4, 3, 1, 0, tzinfo=dt.UTC))
    workflow.confirm(a, operator, "", now=T + minutes(5))
    c = login(operator)
    page = text(c.get(reverse("approvals:list")))
    assert all(f.number in page for f in (a, b, april))
    page = text(c.get(reverse("approvals:list"), {"state": FormState.AWAITING_VERIFICATION}))
    assert a.number in page and b.number not in page
    page = text(c.get(reverse("approvals:list"), {"application": "arsip"}))
    assert b.number in page and a.number not in page
    page = text(c.get(reverse("approvals:list"), {"month": "2025-04"}))
    assert april.number in page and a.number not in page


def test_a_bad_filter_is_a_message_not_an_error(operator: User) -> None:
    make_form()
    response = login(operator).get(reverse("approvals:list"), {"month": "March", "page": "x"})
    assert response.status_code == 200
    assert "Give the month as year and month" in text(response)


def test_the_list_is_paginated_with_a_fixed_number_of_queries(
    operator: User, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    app = make_application()
    for _ in range(60):
        make_form(app)
    c = login(operator)
    with django_assert_max_num_queries(12):
        response = c.get(reverse("approvals:list"))
    assert text(response).count('data-testid="form-row"') == 50
    second = c.get(reverse("approvals:list"), {"page": 2})
    assert text(second).count('data-testid="form-row"') == 10


def test_a_unit_sees_only_its_own_forms(client_for: Callable[..., Client]) -> None:
    own = make_form(make_application("simpeg", "BKPSDM"))
    other = make_form(make_application("arsip", "Sekretariat"))
    c = client_for(Role.UNIT, unit="BKPSDM")
    page = text(c.get(reverse("approvals:list")))
    assert own.number in page and other.number not in page
    assert c.get(reverse("approvals:detail", args=[own.pk])).status_code == 200
    assert c.get(reverse("approvals:detail", args=[other.pk])).status_code == 404


# --- the document ---------------------------------------------------------------------------


def test_the_form_reads_as_an_official_document(operator: User) -> None:
    make_office("Dinas Komunikasi dan Informatika Kabupaten Uji")
    form = make_form(make_application("arsip", "Sekretariat", "weekly", "confidential"))
    page = text(login(operator).get(reverse("approvals:detail", args=[form.pk])))
    assert "DINAS KOMUNIKASI DAN INFORMATIKA KABUPATEN UJI" in page
    assert "Backup Execution Form" in page
    assert form.number in page
    assert "Sekretariat" in page and "weekly" in page and "confidential" in page
    assert form.filled["sources"][0]["label"] in page
    assert "5.0\xa0MB" in page  # the source's size
    assert "ClamAV signatures are old" in page  # the pre-backup checks
    assert "restored into a scratch database" in page  # the verification
    assert "10 March 2025 02:00" in page and "WIB" in page  # office time
    assert 'id="confirm-form"' in page
    assert 'id="verify-form"' not in page


def test_the_chain_shows_times_and_marks_late_steps(operator: User, kasi: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "checked the sizes", now=T + minutes(120))
    workflow.verify(form, kasi, "fine", now=T + minutes(125))
    page = text(login(kasi).get(reverse("approvals:detail", args=[form.pk])))
    assert "checked the sizes" in page
    assert "2 h" in page and "1 h 30 min" in page  # actual against standard
    late_rows = page.split('data-testid="step-confirmed"')[1].split("</tr>")[0]
    assert 'class="late"' in late_rows and "LATE" in late_rows
    verified_row = page.split('data-testid="step-verified"')[1].split("</tr>")[0]
    assert "LATE" not in verified_row


def test_the_kasi_gets_verify_and_return_once_confirmed(operator: User, kasi: User) -> None:
    form = make_form()
    url = reverse("approvals:detail", args=[form.pk])
    assert 'id="verify-form"' not in text(login(kasi).get(url))
    workflow.confirm(form, operator, "", now=T + minutes(1))
    page = text(login(kasi).get(url))
    assert 'id="verify-form"' in page and 'id="return-form"' in page
    assert 'id="confirm-form"' not in page
    assert 'id="verify-form"' not in text(login(operator).get(url))


def test_confirm_verify_through_the_pages(operator: User, kasi: User) -> None:
    form = make_form()
    response = login(operator).post(
        reverse("approvals:confirm", args=[form.pk]), {"remarks": "done"}, follow=True
    )
    assert f"Form {form.number} confirmed." in messages_of(response)
    form.refresh_from_db()
    assert form.state == FormState.AWAITING_VERIFICATION
    again = login(operator).post(reverse("approvals:confirm", args=[form.pk]), follow=True)
    assert again.status_code == 200
    assert any("cannot be taken now" in m for m in messages_of(again))
    response = login(kasi).post(reverse("approvals:verify", args=[form.pk]), follow=True)
    assert f"Form {form.number} verified." in messages_of(response)
    form.refresh_from_db()
    assert form.state == FormState.VERIFIED


def test_return_without_a_reason_is_refused_with_a_message(operator: User, kasi: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(1))
    url = reverse("approvals:return", args=[form.pk])
    response = login(kasi).post(url, {"reason": "  "}, follow=True)
    assert "Give the reason for returning the form." in messages_of(response)
    form.refresh_from_db()
    assert form.state == FormState.AWAITING_VERIFICATION
    response = login(kasi).post(url, {"reason": "wrong label"}, follow=True)
    assert "wrong label" in text(response)
    form.refresh_from_db()
    assert form.state == FormState.RETURNED


def test_the_confirmer_turned_kasi_gets_no_verify_button_and_a_message(operator: User) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(1))
    operator.profile.role = Role.VERIFIER
    operator.profile.save()
    c = login(operator)
    assert 'id="verify-form"' not in text(c.get(reverse("approvals:detail", args=[form.pk])))
    response = c.post(reverse("approvals:verify", args=[form.pk]), follow=True)
    assert any("another person must verify" in m for m in messages_of(response))


def test_actions_want_post(operator: User) -> None:
    form = make_form()
    assert login(operator).get(reverse("approvals:confirm", args=[form.pk])).status_code == 405


def test_a_missing_form_is_404(operator: User) -> None:
    assert login(operator).get(reverse("approvals:detail", args=[999999])).status_code == 404


# --- inbox -----------------------------------------------------------------------------------


def test_the_operators_inbox_holds_forms_to_confirm_and_returned(
    operator: User, kasi: User
) -> None:
    waiting = make_form()
    returned = make_form(make_application("arsip", "Sekretariat"))
    with_kasi = make_form(make_application("sipd", "Bappeda"))
    workflow.confirm(returned, operator, "", now=T + minutes(1))
    workflow.return_form(returned, kasi, "why", now=T + minutes(2))
    workflow.confirm(with_kasi, operator, "", now=T + minutes(1))
    page = text(login(operator).get(reverse("approvals:inbox")))
    assert waiting.number in page and returned.number in page
    assert with_kasi.number not in page
    assert "LATE" in page  # filled in 2025: long past 90 minutes
    kasi_page = text(login(kasi).get(reverse("approvals:inbox")))
    assert with_kasi.number in kasi_page and waiting.number not in kasi_page


def test_the_kabids_inbox_holds_months_ready_and_the_kadis_sees_approved_months(
    operator: User, kasi: User, kabid: User, kadis: User
) -> None:
    form = make_form()
    workflow.confirm(form, operator, "", now=T + minutes(1))
    workflow.verify(form, kasi, "", now=T + minutes(2))
    page = text(login(kabid).get(reverse("approvals:inbox")))
    assert MONTH_URL in page and "March 2025" in page
    assert "No month has been approved yet." in text(login(kadis).get(reverse("approvals:inbox")))
    workflow.approve_month(MARCH, kabid, "")
    assert MONTH_URL not in text(login(kabid).get(reverse("approvals:inbox")))
    assert MONTH_URL in text(login(kadis).get(reverse("approvals:inbox")))


def test_roles_without_a_step_get_an_explaining_inbox(
    client_for: Callable[..., Client],
) -> None:
    response = client_for(Role.AUDITOR).get(reverse("approvals:inbox"))
    assert response.status_code == 200
    assert "takes no step" in text(response)


# --- the month ---------------------------------------------------------------------------


def test_the_month_report_lists_runs_per_application(operator: User, kabid: User) -> None:
    ok = make_form()
    bad = make_form(
        make_application("arsip", "Sekretariat"),
        status=RunStatus.FAILED,
        finished_at=dt.datetime(2025, 3, 20, 1, 0, tzinfo=dt.UTC),
    )
    page = text(login(kabid).get(MONTH_URL))
    assert "Monthly backup report: March 2025" in page
    assert "simpeg" in page and "arsip" in page
    rows = {
        r.split("<td>")[1].split("</td>")[0]: r.split("</tr>")[0]
        for r in page.split('data-testid="month-row"')[1:]
    }
    simpeg, arsip = rows["simpeg"], rows["arsip"]
    assert "days 10" in simpeg  # the successful run's day
    assert "20 Mar 07:55" in arsip  # the failed one, with its time (WIB)
    assert reverse("approvals:detail", args=[bad.pk]) in arsip
    assert "2 forms are not verified yet" in page
    assert ok.number in page and bad.number in page  # named as not verified
    assert 'id="approve-month"' not in page


def test_the_kabid_approves_the_month_and_the_kadis_reads_the_summary(
    operator: User, kasi: User, kabid: User, kadis: User
) -> None:
    a = make_form()
    b = make_form(
        make_application("arsip", "Sekretariat"), status=RunStatus.FAILED, verified="failed"
    )
    for f in (a, b):
        workflow.confirm(f, operator, "", now=T + minutes(200))  # late
        workflow.verify(f, kasi, "", now=T + minutes(205))
    page = text(login(kabid).get(MONTH_URL))
    assert 'id="approve-month"' in page
    assert 'id="approve-month"' not in text(login(kadis).get(MONTH_URL))
    url = reverse("approvals:approve_month", args=[2025, 3])
    response = login(kabid).post(url, {"remarks": "approved"}, follow=True)
    assert "The month 2025-03 is approved (2 forms)." in messages_of(response)
    assert MonthlyApproval.objects.filter(month=MARCH).exists()
    page = text(login(kadis).get(MONTH_URL))
    assert 'id="summary"' in page
    assert 'id="count-succeeded">1<' in page
    assert 'id="count-failed">1<' in page
    assert "arsip" in page.split('id="apps-with-failures">')[1].split("</dd>")[0]
    # Both confirmations took 200 minutes, and both forms waited since 2025 for the approval.
    assert 'id="count-late">4<' in page
    assert 'id="failed-verifications"' in page
    again = login(kabid).post(url, follow=True)
    assert any("already approved" in m for m in messages_of(again))


def test_month_approval_refused_through_the_page_names_the_form(
    operator: User, kabid: User
) -> None:
    form = make_form()
    url = reverse("approvals:approve_month", args=[2025, 3])
    response = login(kabid).post(url, follow=True)
    assert any(form.number in m for m in messages_of(response))
    assert not MonthlyApproval.objects.exists()


def test_a_month_that_does_not_exist_is_404(kabid: User) -> None:
    assert login(kabid).get("/forms/month/2025/13/").status_code == 404
    assert login(kabid).get("/forms/month/1/1/").status_code == 404


# --- standard times ----------------------------------------------------------------------


def test_an_administrator_sets_the_standard_times(client_for: Callable[..., Client]) -> None:
    c = client_for(Role.ADMIN)
    url = reverse("approvals:standard_times")
    assert "Operator&#x27;s confirmation (minutes)" in text(c.get(url))
    response = c.post(url, {"confirmed": "60", "verified": "20", "approved": "30"}, follow=True)
    assert "The standard times were saved." in messages_of(response)
    assert StandardTime.objects.get(step=Step.CONFIRMED).minutes == 60
    assert StandardTime.objects.get(step=Step.APPROVED).minutes == 30
    changes = AuditEntry.objects.filter(action="standard_time_changed").order_by("seq")
    assert [(e.target, e.details["old"], e.details["new"]) for e in changes] == [
        ("confirmed", 90, 60),
        ("approved", 20, 30),
    ]


def test_a_bad_standard_time_is_a_form_error(client_for: Callable[..., Client]) -> None:
    c = client_for(Role.ADMIN)
    response = c.post(
        reverse("approvals:standard_times"), {"confirmed": "0", "verified": "x", "approved": "20"}
    )
    assert response.status_code == 200
    assert 'class="error"' in text(response)
    assert StandardTime.objects.get(step=Step.CONFIRMED).minutes == 90


def test_inbox_and_month_queries_do_not_grow_with_the_forms(
    operator: User, kasi: User, kabid: User, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    apps = [make_application(f"app{i}", f"Unit {i}") for i in range(10)]
    for i in range(60):
        form = make_form(apps[i % 10], status=RunStatus.FAILED if i % 7 == 0 else "succeeded")
        workflow.confirm(form, operator, "", now=T + minutes(1))
    as_kasi, as_kabid = login(kasi), login(kabid)
    with django_assert_max_num_queries(12):
        inbox = as_kasi.get(reverse("approvals:inbox"))
    assert text(inbox).count('data-testid="inbox-row"') == 50
    with django_assert_max_num_queries(16):
        month = as_kabid.get(MONTH_URL)
    assert text(month).count('data-testid="month-row"') == 10
    assert "60 forms are not verified yet" in text(month)
