"""cadang -c PLAN run / history / restore APP from the command line, and the plain
`restore SNAPSHOT --target` that must keep working without a plan."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult, Office, restored_path, run_cadang, sqlite_rows

Cli = Callable[..., CliResult]


def test_run_prints_the_per_application_table(cli: Cli, office: Office) -> None:
    plan = office.write()
    r = cli("-c", plan, "run")
    assert r.code == 0, r.err + r.out
    lines = r.out.splitlines()
    header = next(line for line in lines if line.startswith("Application"))
    for title in ("Owner", "Source", "Status", "Size", "Duration", "Snapshot label"):
        assert title in header
    rows = [line for line in lines if line.startswith(("siak", "arsip"))]
    assert len(rows) == 3
    assert all("succeeded" in row for row in rows)
    assert any("Bidang PIAK" in row and "dinas-uji-siak-db-" in row for row in rows)
    assert "3 succeeded, 0 partial, 0 failed of 3 source(s)" in r.out
    assert "Dinas Uji Coba" in r.out


def test_run_exit_code_and_json_when_a_source_fails(cli: Cli, office: Office) -> None:
    office.apps()[1]["sources"].append(  # type: ignore[union-attr]
        {"type": "command", "name": "broken", "backup": ["false"]}
    )
    plan = office.write()
    r = cli("-c", plan, "run", "--json")
    assert r.code == 1
    doc = json.loads(r.out)
    arsip = doc["applications"][1]
    assert arsip["status"] == "failed"
    states = {s["source"]: s["status"] for s in arsip["sources"]}
    assert states == {"docs": "succeeded", "broken": "failed"}
    broken = next(s for s in arsip["sources"] if s["source"] == "broken")
    assert "exit code 1" in broken["error"]
    assert doc["totals"] == {
        "sources": 4,
        "succeeded": 3,
        "partial": 0,
        "failed": 1,
        "size": doc["totals"]["size"],
        "data_added": doc["totals"]["data_added"],
    }
    assert doc["exit_code"] == 1

    table = cli("-c", plan, "run", "--app", "arsip")
    assert table.code == 1
    assert "arsip/broken: failed:" in table.out


def test_run_selection_and_dry_run(cli: Cli, office: Office) -> None:
    plan = office.write()
    r = cli("-c", plan, "run", "--dry-run")
    assert r.code == 0, r.err
    assert "dry run: nothing was backed up" in r.out
    assert "siak/db (sqlite)" in r.out
    assert not list((office.repo / "snapshots").iterdir())
    r = cli("-c", plan, "run", "--priority", "weekly", "--json")
    doc = json.loads(r.out)
    assert [a["name"] for a in doc["applications"]] == ["arsip"]
    r = cli("-c", plan, "run", "--app", "nope")
    assert r.code == 2 and "nope" in r.err and "siak" in r.err
    r = cli("run")
    assert r.code == 2 and "-c" in r.err


def test_run_reports_an_absent_external_disk(cli: Cli, office: Office) -> None:
    office.add_repository("external-disk", office.root / "unplugged", init=False)
    office.plan["copies"] = ["external-disk"]
    r = cli("-c", office.write(), "run", "--app", "arsip")
    assert r.code == 0
    assert "external-disk not present" in r.out and "copy skipped" in r.out


def test_history_and_application_restore(cli: Cli, office: Office, tmp_path: Path) -> None:
    plan = office.write()
    assert cli("-c", plan, "run").code == 0
    r = cli("-c", plan, "history")
    assert r.code == 0
    assert "siak / db (Bidang PIAK): 1 snapshot(s)" in r.out
    assert "arsip / docs" in r.out
    r = cli("-c", plan, "history", "siak", "--json")
    doc = json.loads(r.out)
    assert [(g["app"], g["source"]) for g in doc["applications"]] == [
        ("siak", "code"),
        ("siak", "db"),
    ]

    rows = sqlite_rows(office.db)
    new = tmp_path / "siak_pulih.db"
    r = cli("-c", plan, "restore", "siak", "--source", "db", "--into", new)
    assert r.code == 0, r.err + r.out
    assert "restored" in r.out and "not touched" in r.out
    assert sqlite_rows(new) == rows

    r = cli(
        "-c", plan, "restore", "siak", "--source", "code", "--into", tmp_path / "kode", "--json"
    )
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["ok"] and doc["sources"][0]["source"] == "code"
    assert (restored_path(tmp_path / "kode", office.code) / "index.php").exists()


def test_restore_usage_errors(cli: Cli, office: Office, tmp_path: Path) -> None:
    plan = office.write()
    r = cli("-c", plan, "restore", "siak", "--target", tmp_path / "x")
    assert r.code == 2 and "--target" in r.err and "--into" in r.err
    r = cli("restore", "latest", "--into", "x", "--repo", office.repo)
    assert r.code == 2 and "--into" in r.err and "plan" in r.err
    r = cli("restore", "latest", "--repo", office.repo)
    assert r.code == 2 and "--target" in r.err
    r = cli("-c", plan, "restore", "siak", "--in-place")
    assert r.code == 2 and "service.stop" in r.err
    r = cli("-c", plan, "restore", "siak", "--source", "db")
    assert r.code == 10 or r.code == 1  # no snapshot yet
    assert "no snapshot" in r.err


def test_plain_restore_still_works_without_a_plan(
    cli: Cli, office: Office, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = office.write()
    assert cli("-c", plan, "run", "--app", "arsip").code == 0
    monkeypatch.setenv("CADANG_PASSWORD_FILE", str(office.password_file))
    r = cli("restore", "--repo", office.repo, "latest", "--target", tmp_path / "t")
    assert r.code == 0, r.err
    assert "restored snapshot" in r.out
    assert (restored_path(tmp_path / "t", office.docs) / "surat-001.txt").exists()
    # A plan from CADANG_CONFIG alone does not take over an explicit --target.
    monkeypatch.setenv("CADANG_CONFIG", str(plan))
    r = cli("restore", "--repo", office.repo, "latest", "--target", tmp_path / "t2")
    assert r.code == 0, r.err
    assert (restored_path(tmp_path / "t2", office.docs) / "surat-001.txt").exists()


@pytest.mark.slow
def test_run_in_a_subprocess_with_a_sqlite_writer(
    cli_env: dict[str, str], office: Office, tmp_path: Path
) -> None:
    """The real entry point, while another connection holds the database open."""
    con = sqlite3.connect(office.db)
    con.execute("INSERT INTO penduduk VALUES ('x', 'during', '2000-01-01')")  # open transaction
    try:
        proc = run_cadang("-c", office.write(), "run", "--app", "siak", env=cli_env)
    finally:
        con.rollback()
        con.close()
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"siak" in proc.stdout and b"succeeded" in proc.stdout
