"""The approval chain in real Chromium against the real server (issue 5's browser tests).

The operator starts a run, watches it finish and confirms its Backup Execution Form; the
Kasi verifies it; the Kabid approves a finished month; a requesting unit sees only its own
applications; the pages speak Indonesian by default. Each test takes screenshots.

The tests share one server (conftest.py) and run in this order. The month the Kabid
approves is last month (a month must be over to be approved): its one form comes from a
run the command line made "last month" and the server imported with the plan. A test
whose predecessor did not leave its form behind does that step itself, so each test also
runs alone.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from server.browser.browser_support import PASSWORD, Server

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 90_000  # the scheduler takes the queued run, backs up, verifies
FINISHED = re.compile(r"^\s*(succeeded|partial|failed)\s*$")  # the status text once it has ended
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]


def log_in(page: Any, server: Server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(server.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, f"log-in as {username} failed"


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def form_of_finished_run(page: Any, server: Server) -> str:
    """As the operator: start a backup of simpeg, watch it finish on its run page, open its
    Backup Execution Form. Returns the form's address."""
    page.goto(server.url + "/runs/")
    page.select_option("#start-application", "simpeg")
    page.locator("#start-run").click()
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    server.shared["run_url"] = page.url
    # The page polls the run (htmx) and swaps the status in place until the run ends: wait
    # for the status text, without reloading.
    status = page.locator("[data-testid=run-status]")
    expect(status).to_have_text(FINISHED, timeout=RUN_TIMEOUT_MS)
    assert status.inner_text() == "succeeded", f"the run ended:\n{server.log_tail()}"
    assert page.locator("#run-live").get_attribute("data-status") == "succeeded"
    assert page.locator("#run-sources tr[data-source=berkas]").count() == 1
    # The form is filled just after the status is stored; the page keeps polling until its
    # link shows, without a reload.
    link = page.locator("[data-testid=form-link]")
    expect(link).to_be_visible(timeout=15_000)
    link.click()
    page.wait_for_url(re.compile(r"/forms/\d+/$"))
    return str(page.url)


def confirm(page: Any, url: str, remarks: str) -> None:
    page.goto(url)
    page.fill("#confirm-remarks", remarks)
    page.locator("#confirm-form").click()
    page.wait_for_load_state()
    assert page.locator("[data-testid=step-confirmed]").count() >= 1, "not confirmed"


def verify(page: Any, url: str, remarks: str) -> None:
    page.goto(url)
    page.fill("#verify-remarks", remarks)
    page.locator("#verify-form").click()
    page.wait_for_load_state()
    assert page.locator("[data-testid=step-verified]").count() == 1, "not verified"


def confirmed_form(page: Any, server: Server) -> str:
    """This month's form, confirmed by the operator (made here if test 1 did not)."""
    if "confirmed_form" not in server.shared:
        log_in(page, server, "adb")
        url = form_of_finished_run(page, server)
        confirm(page, url, "Berjalan normal.")
        server.shared["confirmed_form"] = url
    return str(server.shared["confirmed_form"])


def last_month_form(page: Any, server: Server) -> str:
    """The address of last month's (imported) form, from the operator's form list."""
    if "last_month_form" not in server.shared:
        log_in(page, server, "adb")
        page.goto(server.url + "/forms/")
        month = server.last_month
        number = f"/FPB/{ROMAN[month.month - 1]}/{month.year}"
        link = page.locator("main table a").filter(has_text=number)
        assert link.count() == 1, f"no form numbered *{number} in the list"
        server.shared["last_month_form"] = server.url + link.get_attribute("href")
    return str(server.shared["last_month_form"])


def test_operator_starts_a_run_and_confirms_its_form(
    page: Any, server: Server, screenshot: Any
) -> None:
    log_in(page, server, "adb")
    page.goto(server.url + "/runs/")
    screenshot(page, "runs-list")
    url = form_of_finished_run(page, server)
    page.goto(server.shared["run_url"])
    screenshot(page, "run-finished")
    page.goto(url)
    assert page.locator("[data-testid=step-filled]").count() == 1
    screenshot(page, "form-awaiting-confirmation")
    page.fill("#confirm-remarks", "Backed up as scheduled; sizes as expected.")
    page.locator("#confirm-form").click()
    page.wait_for_load_state()
    assert page.url == url
    assert "Backed up as scheduled; sizes as expected." in page.locator("main").inner_text()
    assert page.locator("[data-testid=step-confirmed]").count() == 1
    assert page.locator("#confirm-form").count() == 0  # confirmed once, not twice
    server.shared["confirmed_form"] = url
    screenshot(page, "form-confirmed")


def test_kasi_verifies_the_form(page: Any, server: Server, screenshot: Any) -> None:
    url = confirmed_form(page, server)
    log_in(page, server, "kasi")
    page.goto(server.url + "/forms/inbox/")
    link = page.locator(f"[data-testid=inbox-row] a[href='{path_of(url)}']")
    assert link.count() == 1, "the confirmed form is not in the Kasi's inbox"
    screenshot(page, "inbox-kasi")
    link.click()
    page.wait_for_url(url)
    page.fill("#verify-remarks", "Checked against the report.")
    page.locator("#verify-form").click()
    page.wait_for_load_state()
    assert page.locator("[data-testid=step-verified]").count() == 1
    assert page.locator("#verify-form").count() == 0
    screenshot(page, "form-verified")
    page.goto(server.url + "/forms/inbox/")
    assert page.locator(f"[data-testid=inbox-row] a[href='{path_of(url)}']").count() == 0


def test_kabid_approves_last_month(page: Any, server: Server, screenshot: Any) -> None:
    # Last month's one form through the chain first: the operator, then the Kasi.
    url = last_month_form(page, server)
    log_in(page, server, "adb")
    confirm(page, url, "Imported from the command line's run.")
    log_in(page, server, "kasi")
    verify(page, url, "")
    log_in(page, server, "kabid")
    page.goto(server.url + "/forms/inbox/")
    month = server.last_month
    link = page.locator(
        f"[data-testid=inbox-row] a[href='/forms/month/{month.year}/{month.month}/']"
    )
    assert link.count() == 1, "last month does not await the Kabid's approval"
    screenshot(page, "inbox-kabid")
    link.click()
    page.wait_for_url(re.compile(r"/forms/month/\d{4}/\d{1,2}/$"))
    screenshot(page, "month-before-approval")
    page.fill("#approve-remarks", "Approved; the summary goes to the Kadis.")
    page.locator("#approve-month").click()
    page.wait_for_load_state()
    assert page.locator("#approve-month").count() == 0
    assert "is approved" in page.locator("ul.messages").inner_text()
    screenshot(page, "month-approved")
    page.goto(url)
    assert page.locator("[data-testid=step-approved]").count() == 1


def test_requesting_unit_sees_only_its_own_applications(
    page: Any, server: Server, screenshot: Any
) -> None:
    log_in(page, server, "opd-bkpsdm")
    page.goto(server.url + "/inventory/")
    table = page.locator("main table")
    assert table.get_by_text("simpeg", exact=True).count() >= 1
    assert table.get_by_text("arsip", exact=True).count() == 0
    screenshot(page, "unit-sees-own-applications")
    response = page.goto(server.url + "/inventory/arsip/")
    assert response is not None and response.status == 404
    assert "Traceback" not in page.content()
    response = page.goto(server.url + "/inventory/simpeg/")
    assert response is not None and response.status == 200


def test_pages_are_in_indonesian_by_default(page: Any, server: Server, screenshot: Any) -> None:
    # Before log-in nothing says which language: the page is Indonesian, the default.
    page.goto(server.url + "/accounts/login/")
    assert page.locator("html").get_attribute("lang") == "id"
    log_in(page, server, "kabid-id")
    page.goto(server.url + "/")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.locator("select[name=language]").input_value() == "id"
    assert page.locator("#logout").inner_text().strip() == "Keluar"  # "Log out"
    screenshot(page, "dashboard-indonesian")
