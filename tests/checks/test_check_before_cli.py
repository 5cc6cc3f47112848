"""cadang -c PLAN check-before, and the checklist printed by run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from checks_helpers import EICAR, sigdb
from conftest import CliResult, Office, run_cadang

from cadang.plan.state import StateStore

__all__ = ["sigdb"]

Cli = Callable[..., CliResult]


def prepare(office: Office, sigdb: Path, infected: bool = False) -> Path:
    office.plan["antivirus"] = {"database": str(sigdb)}
    office.plan["escalation"] = [
        {"name": "Made Wirawan", "role": "Kasi", "email": "made@example.go.id"},
        {"name": "Ketut Sudarma", "role": "Kabid"},
    ]
    if infected:
        (office.code / "upload.com").write_bytes(EICAR)
    return office.write()


def test_clean_checklist_exit_0(
    cli: Cli, office: Office, sigdb: Path, _private_state_dir: Path
) -> None:
    plan = prepare(office, sigdb)
    r = cli("-c", plan, "check-before")
    assert r.code == 0, r.out + r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("Pre-backup checklist — Dinas Uji Coba")
    header = next(ln for ln in lines if ln.startswith("Check"))
    for title in ("Subject", "Result", "Summary"):
        assert title in header
    table = {tuple(ln.split()[:3]) for ln in lines if ln.split()[:1] in (["network"], ["storage"],
             ["database"], ["antivirus"])}  # fmt: skip
    assert ("network", "repository", "main") in table
    assert ("database", "siak/db", "passed") in table
    assert ("antivirus", "siak/code", "passed") in table
    assert ("antivirus", "arsip/docs", "passed") in table
    assert "5 passed, 0 warning(s), 0 failed, 0 skipped" in r.out
    assert "NEEDS ATTENTION" not in r.out
    assert "recorded in" in r.out
    assert str(_private_state_dir) in r.out
    assert StateStore(_private_state_dir).load_checklists()[0].origin == "check-before"


def test_failed_check_exit_1_names_the_escalation(cli: Cli, office: Office, sigdb: Path) -> None:
    plan = prepare(office, sigdb, infected=True)
    r = cli("-c", plan, "check-before")
    assert r.code == 1
    assert "antivirus  siak/code" in r.out and "FAILED" in r.out
    infected = str(office.code / "upload.com")
    assert f"infected: {infected} (Cadang-Test-EICAR.UNOFFICIAL)" in r.out
    assert "hint:" in r.out
    assert (
        "NEEDS ATTENTION: escalate to Made Wirawan (Kasi, made@example.go.id); "
        "Ketut Sudarma (Kabid)" in r.out
    )
    # Only the application asked for.
    r = cli("-c", plan, "check-before", "--app", "arsip")
    assert r.code == 0 and "siak/" not in r.out and "arsip/docs" in r.out


def test_json(cli: Cli, office: Office, sigdb: Path) -> None:
    plan = prepare(office, sigdb, infected=True)
    r = cli("-c", plan, "check-before", "--json")
    assert r.code == 1
    doc = json.loads(r.out)
    assert doc["status"] == "failed" and doc["needs_attention"] is True
    assert doc["apps"] == ["siak", "arsip"]
    assert [c["role"] for c in doc["escalation"]] == ["Kasi", "Kabid"]
    av = next(rec for rec in doc["records"] if rec["subject"] == "siak/code")
    assert av["kind"] == "antivirus" and av["result"] == "failed" and av["escalate"]
    assert Path(doc["record"]).is_file()


def test_unknown_app_is_a_usage_error(cli: Cli, office: Office) -> None:
    r = cli("-c", office.write(), "check-before", "--app", "nope")
    assert r.code == 2 and "unknown application" in r.err


def test_run_prints_the_checklist_before_the_table(cli: Cli, office: Office, sigdb: Path) -> None:
    plan = prepare(office, sigdb, infected=True)
    r = cli("-c", plan, "run")
    assert r.code == 1
    out = r.out
    assert out.index("Pre-backup checklist") < out.index("Application")
    assert "siak/code: failed: backup blocked: the antivirus check found 1 infected" in out
    assert "NEEDS ATTENTION: escalate to Made Wirawan" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("arsip")]
    assert rows and "succeeded" in rows[0]


def test_run_skip_checks(cli: Cli, office: Office, sigdb: Path) -> None:
    plan = prepare(office, sigdb, infected=True)
    r = cli("-c", plan, "run", "--skip-checks", "--json")
    assert r.code == 0, r.out
    doc = json.loads(r.out)
    assert doc["checks"]["skipped"].startswith("skipped on request (run --skip-checks)")
    assert doc["needs_attention"] is True
    r = cli("-c", plan, "run", "--skip-checks")
    assert "pre-backup checks: skipped on request" in r.out


def test_check_before_in_a_subprocess_default_language(
    office: Office, sigdb: Path, cli_env: dict[str, str]
) -> None:
    """Without CADANG_LANG (Indonesian by default) the names and exit code are the same."""
    plan = prepare(office, sigdb, infected=True)
    env = dict(cli_env)
    env.pop("CADANG_LANG")
    done = run_cadang("-c", plan, "check-before", env=env)
    assert done.returncode == 1
    out = done.stdout.decode()
    assert "antivirus" in out and "siak/code" in out and "Made Wirawan" in out
