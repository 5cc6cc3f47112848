"""Editing an application: validated by the plan's model, a reason, a history, an audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from cadang.server.accounts.models import Role
from cadang.server.audit.models import AuditEntry
from cadang.server.inventory.catalog import current_plan
from cadang.server.inventory.importer import ImportResult
from cadang.server.inventory.models import Application, InventoryChange

pytestmark = pytest.mark.django_db

URL = "/inventory/simpeg/edit/"


def values(**changes: str) -> dict[str, Any]:
    data = {
        "owner": "BKPSDM",
        "priority": "daily",
        "classification": "internal",
        "repository": "",
        "service_stop": "",
        "service_start": "",
        "service_health": "",
        "reason": "Rapat koordinasi 3 Maret",
    }
    return data | changes


@pytest.fixture
def admin(imported: ImportResult, client_for: Callable[..., Client]) -> Client:
    return client_for(Role.ADMIN, username="admin1")


def test_form_shows_the_current_entry(admin: Client) -> None:
    response = admin.get(URL)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["owner"] == "BKPSDM"
    assert form.initial["priority"] == "daily"
    assert b'id="save-application"' in response.content


def test_bad_priority_is_refused_by_the_plan_model(admin: Client) -> None:
    response = admin.post(URL, values(priority="sometimes"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["priority"] == ["“sometimes” is not one of daily, weekly, monthly."]
    assert b"is not one of daily, weekly, monthly" in response.content
    assert Application.objects.get(name="simpeg").priority == "daily"
    assert not InventoryChange.objects.exists()
    assert not AuditEntry.objects.filter(action="inventory_changed").exists()


def test_unknown_repository_is_a_problem_of_the_plan(admin: Client) -> None:
    response = admin.post(URL, values(repository="nowhere"))
    assert response.status_code == 200
    problems = response.context["form"].non_field_errors()
    assert problems == [
        "The plan would not be valid: application 'simpeg' names unknown repository 'nowhere'"
    ]
    assert not InventoryChange.objects.exists()


def test_reason_is_required(admin: Client) -> None:
    response = admin.post(URL, values(priority="weekly", reason="   "))
    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["Give the reason for the change."]
    assert Application.objects.get(name="simpeg").priority == "daily"


def test_saved_change_is_kept_field_by_field(admin: Client) -> None:
    response = admin.post(
        URL,
        values(
            owner="Badan Kepegawaian",
            priority="weekly",
            service_stop="systemctl stop simpeg",
            reason="SOP 003: prioritas ditinjau",
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == "/inventory/simpeg/"
    app = Application.objects.get(name="simpeg")
    assert (app.owner, app.priority) == ("Badan Kepegawaian", "weekly")
    assert app.config["service"] == {"stop": "systemctl stop simpeg", "start": None, "health": None}
    plan_app = current_plan().application("simpeg")
    assert plan_app is not None and plan_app.priority.value == "weekly"

    changes = {c.field: c for c in InventoryChange.objects.all()}
    assert set(changes) == {"owner", "priority", "service.stop"}
    assert (changes["priority"].old_value, changes["priority"].new_value) == ("daily", "weekly")
    assert changes["owner"].reason == "SOP 003: prioritas ditinjau"
    assert changes["owner"].changed_by is not None
    assert changes["owner"].changed_by.get_username() == "admin1"
    assert changes["service.stop"].old_value == ""

    entry = AuditEntry.objects.get(action="inventory_changed")
    assert entry.actor == "admin1"
    assert entry.target == "simpeg"
    assert entry.details["changes"]["priority"] == ["daily", "weekly"]
    assert entry.details["reason"] == "SOP 003: prioritas ditinjau"

    detail = admin.get("/inventory/simpeg/")
    assert b"SOP 003: prioritas ditinjau" in detail.content


def test_unchanged_form_records_nothing(admin: Client) -> None:
    response = admin.post(URL, values())
    assert response.status_code == 302
    assert not InventoryChange.objects.exists()
    assert not AuditEntry.objects.filter(action="inventory_changed").exists()


def test_removed_application_cannot_be_edited(admin: Client) -> None:
    Application.objects.filter(name="simpeg").update(active=False)
    response = admin.post(URL, values(priority="weekly"))
    assert response.status_code == 302
    assert not InventoryChange.objects.exists()


def test_unknown_application_is_404(admin: Client) -> None:
    assert admin.get("/inventory/nothing/edit/").status_code == 404
