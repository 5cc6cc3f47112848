"""The plan in and out: upload to import (problems listed with their place), export round
trip, the download."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cadang.plan.loader import load_plan
from cadang.server.accounts.models import Role
from cadang.server.audit.models import AuditEntry
from cadang.server.inventory.catalog import current_plan, store_plan
from cadang.server.inventory.exporter import plan_yaml
from cadang.server.inventory.importer import ImportResult, import_plan_file
from cadang.server.inventory.models import Application

pytestmark = pytest.mark.django_db

RICH_PLAN = """\
organization:
  name: Dinas Komunikasi dan Informatika
  code: kominfo
repositories:
  main:
    path: {base}/repo
    password_file: secrets/main.pass
  disk:
    path: {base}/disk
    password_env: CADANG_DISK_PW
copies: [disk]
retention:
  daily:
    keep_daily: 7
naming:
  template: "{{org}}-{{app}}-{{time:%Y%m%d}}"
escalation:
  - name: Kasi Infrastruktur
    role: Kasi
    email: kasi@example.go.id
verify:
  after_run: false
applications:
  - name: simpeg
    owner: BKPSDM
    priority: daily
    classification: confidential
    repository: disk
    service:
      stop: systemctl stop simpeg
      health: http://127.0.0.1:8080/health
    verify:
      after_run: true
    antivirus:
      on_infection: warn
    sources:
      - type: postgres
        name: db
        port: 5433
        databases: [simpeg]
        password_file: secrets/pg.pass
      - type: files
        name: code
        paths: [/var/www/simpeg]
        exclude: ["*.log"]
  - name: website
    owner: Diskominfo
    priority: weekly
    sources:
      - type: command
        name: dump
        backup: [mongodump, --archive]
"""


@pytest.fixture
def rich_plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plans" / "cadang.yaml"
    path.parent.mkdir()
    path.write_text(RICH_PLAN.format(base=tmp_path))
    return path


def test_export_loads_back_into_the_same_plan(
    defaults: None, rich_plan_file: Path, tmp_path: Path
) -> None:
    original = load_plan(rich_plan_file)
    import_plan_file(str(rich_plan_file))
    text = plan_yaml(current_plan())
    assert "password_file: " + str(rich_plan_file.parent / "secrets" / "main.pass") in text
    assert "keep_daily: 7" in text
    assert "one_file_system" not in text  # a default, left out
    assert text.index("organization:") < text.index("repositories:") < text.index("applications:")
    exported = tmp_path / "elsewhere" / "exported.yaml"
    exported.parent.mkdir()
    exported.write_text(text)
    again = load_plan(exported)
    assert again == original
    # The application's verify override equal to a default must stay an override.
    for app in original.applications:
        assert again.verify_settings(app) == original.verify_settings(app)
    simpeg = again.application("simpeg")
    assert simpeg is not None and again.verify_settings(simpeg).after_run is True


def test_export_of_sample_plan_round_trips(
    imported: ImportResult, sample_plan_file: Path, tmp_path: Path
) -> None:
    exported = tmp_path / "out.yaml"
    exported.write_text(plan_yaml(current_plan()))
    assert load_plan(exported) == load_plan(sample_plan_file)


def test_store_plan_keeps_only_the_given_verify_overrides(
    defaults: None, rich_plan_file: Path
) -> None:
    store_plan(load_plan(rich_plan_file))
    assert Application.objects.get(name="simpeg").config["verify"] == {"after_run": True}


def test_download_as_auditor(
    imported: ImportResult,
    client_for: Callable[..., Client],
    sample_plan_file: Path,
    tmp_path: Path,
) -> None:
    response = client_for(Role.AUDITOR, username="auditor1").get("/inventory/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert response["Content-Disposition"].startswith('attachment; filename="cadang-uji-')
    body = response.content.decode()
    assert body.startswith("# Cadang plan exported from the server on ")
    out = tmp_path / "download.yaml"
    out.write_text(body)
    assert load_plan(out) == load_plan(sample_plan_file)
    entry = AuditEntry.objects.get(action="plan_exported")
    assert entry.actor == "auditor1"


def test_download_without_a_plan_says_so(db: None, client_for: Callable[..., Client]) -> None:
    client = client_for(Role.ADMIN)
    response = client.get("/inventory/export/", follow=True)
    assert response.redirect_chain[-1][0] == "/inventory/"
    assert b"The server holds no plan yet" in response.content


# --- import by upload ---------------------------------------------------------------------


def test_upload_imports_the_plan(
    defaults: None,
    client_for: Callable[..., Client],
    sample_plan_file: Path,
    state_dir: Path,
) -> None:
    client = client_for(Role.ADMIN, username="admin1")
    assert client.get("/inventory/import/").status_code == 200
    upload = SimpleUploadedFile("cadang.yaml", sample_plan_file.read_bytes())
    response = client.post("/inventory/import/", {"plan_file": upload}, follow=True)
    assert response.redirect_chain[-1][0] == "/inventory/"
    assert b"The plan was imported: 2 application(s) added" in response.content
    assert sorted(Application.objects.values_list("name", flat=True)) == ["arsip", "simpeg"]
    kept = list((state_dir / "server" / "uploads").iterdir())
    assert len(kept) == 1 and kept[0].read_bytes() == sample_plan_file.read_bytes()
    entry = AuditEntry.objects.get(action="plan_imported")
    assert entry.actor == "admin1"
    assert entry.target == str(kept[0])


def test_upload_of_a_bad_plan_lists_its_problems(
    defaults: None, client_for: Callable[..., Client], state_dir: Path
) -> None:
    client = client_for(Role.ADMIN)
    bad = (
        b"organization:\n  name: X\n  code: x\nrepositories:\n  main:\n    path: /r\n"
        b"    password_env: PW\napplications:\n  - name: a\n    owner: O\n"
        b"    priority: sometimes\n    sources:\n      - type: files\n        name: f\n"
        b"        paths: [/x]\n        colour: red\n"
    )
    response = client.post(
        "/inventory/import/", {"plan_file": SimpleUploadedFile("kantor.yaml", bad)}
    )
    assert response.status_code == 200
    problems = response.context["problems"]
    assert [p.location for p in problems] == ["kantor.yaml:11:15", "kantor.yaml:16:9"]
    assert "sometimes" in problems[0].message
    content = response.content.decode()
    assert "kantor.yaml has 2 problems; nothing was imported" in content
    assert "<code>kantor.yaml:16:9</code>" in content
    assert not Application.objects.exists()
    assert list((state_dir / "server" / "uploads").iterdir()) == []


def test_upload_of_broken_yaml_is_a_problem_not_an_error(
    defaults: None, client_for: Callable[..., Client]
) -> None:
    client = client_for(Role.ADMIN)
    upload = SimpleUploadedFile("x.yaml", b"organization: [unclosed\n")
    response = client.post("/inventory/import/", {"plan_file": upload})
    assert response.status_code == 200
    assert "YAML syntax error" in response.context["problems"][0].message


def test_upload_needs_a_file(defaults: None, client_for: Callable[..., Client]) -> None:
    response = client_for(Role.ADMIN).post("/inventory/import/", {})
    assert response.status_code == 200
    assert response.context["form"].errors["plan_file"] == ["This field is required."]
