"""`cadang audit verify` in a subprocess against a real SQLite catalog file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "a-long-cli-password-7"


@pytest.fixture
def env(state_dir: Path, tmp_path: Path) -> dict[str, str]:
    e = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CADANG_SERVER_DATABASE", "DJANGO_SETTINGS_MODULE"}
    }
    e.update(
        CADANG_STATE_DIR=str(state_dir),
        CADANG_SECRET_KEY="tests-only-cli",
        CADANG_LANG="en",
        CADANG_USER_PASSWORD=PASSWORD,
    )
    return e


def cadang(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cadang", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def tamper(state_dir: Path, sql: str) -> None:
    con = sqlite3.connect(state_dir / "server" / "catalog.sqlite3")
    with con:
        con.execute(sql)
    con.close()


def test_verify_passes_then_fails_after_an_edit(env: dict[str, str], state_dir: Path) -> None:
    made = cadang(env, "admin", "create-user", "kadis", "--role", "head")
    assert made.returncode == 0, made.stderr
    made = cadang(env, "admin", "create-user", "kasi", "--role", "verifier")
    assert made.returncode == 0, made.stderr
    ok = cadang(env, "audit", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 entries, chain intact" in ok.stdout
    tamper(state_dir, "UPDATE audit_auditentry SET target = 'someone' WHERE seq = 1")
    bad = cadang(env, "audit", "verify")
    assert bad.returncode == 1
    assert "entry 1 was changed" in bad.stdout
    assert "BROKEN" in bad.stderr


def test_verify_finds_the_last_entry_removed(env: dict[str, str], state_dir: Path) -> None:
    for name in ("kadis", "kasi"):
        assert cadang(env, "admin", "create-user", name, "--role", "head").returncode == 0
    tamper(state_dir, "DELETE FROM audit_auditentry WHERE seq = 2")
    bad = cadang(
        env, "audit", "verify", "--database", f"sqlite:///{state_dir}/server/catalog.sqlite3"
    )
    assert bad.returncode == 1
    assert "the anchor names entry 2 but the log ends at entry 1" in bad.stdout
    assert "cadang audit reset-anchor" in bad.stderr
    # Accepting the shorter catalog on purpose is recorded, and the check passes again.
    reset = cadang(env, "audit", "reset-anchor")
    assert reset.returncode == 0, reset.stderr
    assert "anchor moved from entry 2 to entry 1" in reset.stdout
    again = cadang(env, "audit", "verify")
    assert again.returncode == 0, again.stdout
    assert "2 entries, chain intact" in again.stdout
