"""Who may do what in the inventory; a requesting unit sees only its own applications."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cadang.server.accounts.models import Role
from cadang.server.inventory.importer import ImportResult
from cadang.server.inventory.models import InventoryChange, InventoryReview

pytestmark = pytest.mark.django_db

NOT_ADMIN = [r for r in Role if r is not Role.ADMIN]
NOT_EXPORTERS = [r for r in Role if r not in (Role.ADMIN, Role.AUDITOR)]


@pytest.mark.parametrize("role", NOT_ADMIN)
def test_only_the_admin_edits(
    imported: ImportResult, client_for: Callable[..., Client], role: Role
) -> None:
    client = client_for(role, unit="BKPSDM")
    assert client.get("/inventory/simpeg/edit/").status_code == 403
    response = client.post(
        "/inventory/simpeg/edit/",
        {"owner": "X", "priority": "weekly", "classification": "internal", "reason": "r"},
    )
    assert response.status_code == 403
    assert not InventoryChange.objects.exists()
    assert b'id="edit-application"' not in client.get("/inventory/simpeg/").content


@pytest.mark.parametrize("role", NOT_ADMIN)
def test_only_the_admin_imports_and_reviews(
    imported: ImportResult, client_for: Callable[..., Client], role: Role
) -> None:
    client = client_for(role, unit="BKPSDM")
    assert client.get("/inventory/import/").status_code == 403
    upload = SimpleUploadedFile("cadang.yaml", b"organization: {}\n")
    assert client.post("/inventory/import/", {"plan_file": upload}).status_code == 403
    assert client.post("/inventory/review/", {"remarks": "x"}).status_code == 403
    assert not InventoryReview.objects.exists()


@pytest.mark.parametrize("role", NOT_EXPORTERS)
def test_only_admin_and_auditor_export(
    imported: ImportResult, client_for: Callable[..., Client], role: Role
) -> None:
    assert client_for(role, unit="BKPSDM").get("/inventory/export/").status_code == 403


def test_auditor_exports(imported: ImportResult, client_for: Callable[..., Client]) -> None:
    assert client_for(Role.AUDITOR).get("/inventory/export/").status_code == 200


def test_anonymous_is_sent_to_log_in(imported: ImportResult, client: Client) -> None:
    for url in ("/inventory/", "/inventory/simpeg/", "/inventory/export/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_unit_sees_only_its_own_applications(
    imported: ImportResult, client_for: Callable[..., Client]
) -> None:
    client = client_for(Role.UNIT, unit="BKPSDM")
    listing = client.get("/inventory/")
    assert listing.status_code == 200
    assert [r["app"].name for r in listing.context["rows"]] == ["simpeg"]
    assert listing.context["owners"] == ["BKPSDM"]
    assert b"arsip" not in listing.content
    assert client.get("/inventory/simpeg/").status_code == 200
    assert client.get("/inventory/arsip/").status_code == 404


def test_unit_without_a_unit_sees_nothing(
    imported: ImportResult, client_for: Callable[..., Client]
) -> None:
    client = client_for(Role.UNIT, unit="")
    assert client.get("/inventory/").context["rows"] == []
    assert client.get("/inventory/simpeg/").status_code == 404


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.UNIT])
def test_other_roles_see_every_application(
    imported: ImportResult, client_for: Callable[..., Client], role: Role
) -> None:
    response = client_for(role).get("/inventory/")
    assert [r["app"].name for r in response.context["rows"]] == ["simpeg", "arsip"]
