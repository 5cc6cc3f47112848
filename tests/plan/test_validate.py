"""The environment checks of ``plan check``: tools, secrets, repositories, databases."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import IS_ROOT, TEST_PASSWORD

from cadang.backends.local import LocalBackend
from cadang.errors import PlanProblem
from cadang.plan.loader import load_plan_with_positions
from cadang.plan.validate import check_environment
from cadang.repo.keys import TEST_KDF
from cadang.repo.repository import Repository


def plan_file(tmp_path: Path, sources: str, repositories: str | None = None) -> Path:
    """A plan with one application whose sources are ``sources`` (YAML list items)."""
    if repositories is None:
        repositories = "main:\n  path: repo\n  password_env: CADANG_TEST_PW\n"
    text = (
        "organization:\n  name: Dinas Kominfo\n  code: kominfo\n"
        "repositories:\n" + textwrap.indent(textwrap.dedent(repositories), "  ") + "applications:\n"
        "  - name: simpeg\n    owner: BKPSDM\n    priority: daily\n    sources:\n"
        + textwrap.indent(textwrap.dedent(sources), "      ")
    )
    path = tmp_path / "cadang.yaml"
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADANG_TEST_PW", TEST_PASSWORD)


def check(path: Path, offline: bool = True) -> list[PlanProblem]:
    plan, positions = load_plan_with_positions(path)
    return check_environment(plan, positions, offline=offline)


def line_of(path: Path, needle: str, exact: bool = False) -> int:
    lines = [
        i + 1
        for i, t in enumerate(path.read_text().splitlines())
        if (t.strip() == needle if exact else needle in t)
    ]
    assert lines, needle
    return lines[0]


def only(problems: list[PlanProblem], text: str) -> PlanProblem:
    hits = [p for p in problems if text in p.message]
    assert len(hits) == 1, [str(p) for p in problems]
    return hits[0]


def make_repo(path: Path) -> None:
    Repository.init(LocalBackend(str(path)), TEST_PASSWORD, TEST_KDF).close()


# --- tools ----------------------------------------------------------------------------------


def test_missing_command_of_a_command_source(tmp_path: Path) -> None:
    path = plan_file(
        tmp_path,
        """\
        - type: command
          name: export
          backup: [cadang-no-such-exporter, --all]
        """,
    )
    (p,) = check(path)
    assert p.is_error
    assert "cadang-no-such-exporter is not installed" in p.message
    assert p.message.startswith("simpeg/export:")
    assert p.line == line_of(path, "type: command")


@pytest.mark.parametrize(
    ("source", "tool", "hint"),
    [
        (
            "- {type: postgres, name: db, databases: [simpeg]}",
            "pg_dump",
            "install the Debian package postgresql-client: apt install postgresql-client",
        ),
        (
            "- {type: mariadb, name: db}",
            "mariadb-dump",
            "install the Debian package mariadb-client: apt install mariadb-client",
        ),
        (
            "- {type: oracle, name: db, connect: simpeg@ORCL, schemas: [SIMPEG]}",
            "expdp",
            "install Oracle Instant Client (not in Debian)",
        ),
    ],
)
def test_missing_database_tool_names_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, tool: str, hint: str
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # none of the tools can be found
    path = plan_file(tmp_path, source + "\n")
    problems = check(path)
    p = only(problems, f"the program {tool} is not installed")
    assert p.hint is not None and p.hint.startswith(hint)
    assert p.line == line_of(path, "- {type:")
    assert all(q.is_error for q in problems)


def test_tools_found_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("expdp", "impdp"):
        stub = bin_dir / name
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    path = plan_file(
        tmp_path, "- {type: oracle, name: db, connect: simpeg@ORCL, schemas: [SIMPEG]}\n"
    )
    assert [p for p in check(path) if "not installed" in p.message] == []


# --- secrets --------------------------------------------------------------------------------


def test_password_file_checks(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    good = tmp_path / "secrets" / "good.pass"
    good.write_text("rahasia\n")
    good.chmod(0o600)
    shared = tmp_path / "secrets" / "shared.pass"
    shared.write_text("rahasia\n")
    shared.chmod(0o644)
    empty = tmp_path / "secrets" / "empty.pass"
    empty.write_text("\n")
    empty.chmod(0o600)
    path = plan_file(
        tmp_path,
        """\
        - {type: files, name: code, paths: [/srv]}
        """,
        repositories="""\
        main:
          path: repo
          password_file: secrets/good.pass
        shared:
          path: repo2
          password_file: secrets/shared.pass
        empty:
          path: repo3
          password_file: secrets/empty.pass
        missing:
          path: repo4
          password_file: secrets/missing.pass
        folder:
          path: repo5
          password_file: secrets
        """,
    )
    problems = check(path)
    assert len(problems) == 4, [str(p) for p in problems]
    warn = only(problems, "can be read by other users (mode 644)")
    assert not warn.is_error and warn.hint == f"chmod 600 {shared}"
    assert warn.line == line_of(path, "secrets/shared.pass")
    assert only(problems, "is empty").line == line_of(path, "secrets/empty.pass")
    missing = only(problems, "does not exist")
    assert missing.is_error and missing.line == line_of(path, "secrets/missing.pass")
    folder = only(problems, "is not a regular file")
    assert folder.is_error and folder.line == line_of(path, "password_file: secrets", exact=True)


@pytest.mark.skipif(IS_ROOT, reason="root reads every file whatever its mode")
def test_unreadable_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "main.pass"
    secret.write_text("rahasia")
    secret.chmod(0o000)
    path = plan_file(
        tmp_path,
        "- {type: files, name: code, paths: [/srv]}\n",
        repositories="main:\n  path: repo\n  password_file: main.pass\n",
    )
    (p,) = check(path)
    assert p.is_error and "cannot be read" in p.message


def test_password_env_must_be_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = plan_file(
        tmp_path,
        "- {type: postgres, name: db, password_env: SIMPEG_DB_PW}\n",
        repositories="main:\n  path: repo\n  password_env: CADANG_TEST_PW\n",
    )
    monkeypatch.delenv("CADANG_TEST_PW")
    monkeypatch.delenv("SIMPEG_DB_PW", raising=False)
    problems = check(path)
    assert len(problems) == 2, [str(p) for p in problems]
    repo = only(problems, "the environment variable CADANG_TEST_PW is not set")
    assert repo.line == line_of(path, "password_env: CADANG_TEST_PW")
    src = only(problems, "the environment variable SIMPEG_DB_PW is not set")
    assert src.message.startswith("simpeg/db:")
    assert src.line == line_of(path, "SIMPEG_DB_PW")
    monkeypatch.setenv("CADANG_TEST_PW", "x")
    monkeypatch.setenv("SIMPEG_DB_PW", "y")
    assert check(path) == []


# --- repositories ---------------------------------------------------------------------------


def test_repository_paths(tmp_path: Path) -> None:
    make_repo(tmp_path / "good")
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "foto.jpg").write_bytes(b"x")
    (tmp_path / "a-file").write_text("x")
    repositories = "".join(
        f"{name}:\n  path: {where}\n  password_env: CADANG_TEST_PW\n"
        for name, where in [
            ("good", "good"),
            ("new", "new"),
            ("empty", "empty"),
            ("other", "other"),
            ("file", "a-file"),
            ("nowhere", "no/such/folder/repo"),
        ]
    )
    path = plan_file(tmp_path, "- {type: files, name: code, paths: [code]}\n", repositories)
    (tmp_path / "code").mkdir()
    problems = check(path, offline=False)
    by_line = {p.line: p for p in problems}
    assert len(by_line) == len(problems) == 5, [str(p) for p in problems]

    def at(name: str) -> PlanProblem:
        line = line_of(path, f"{name}:") + 1  # its path: line
        assert line in by_line, (name, [str(p) for p in problems])
        return by_line[line]

    assert not at("new").is_error and "no repository at" in at("new").message
    assert at("new").hint == f"create it with: cadang init --repo {tmp_path / 'new'}"
    assert not at("empty").is_error and "no repository in" in at("empty").message
    assert at("other").is_error and "is not a Cadang repository" in at("other").message
    assert at("file").is_error and "is not a folder" in at("file").message
    assert at("nowhere").is_error and "does not exist" in at("nowhere").message
    # Offline: none of this is looked at.
    assert check(path, offline=True) == []


def test_repository_with_the_wrong_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(tmp_path / "repo")
    path = plan_file(tmp_path, "- {type: files, name: code, paths: [/]}\n")
    monkeypatch.setenv("CADANG_TEST_PW", "not the passphrase")
    problems = check(path, offline=False)
    (p,) = problems
    assert p.is_error and p.line == line_of(path, "main:")
    assert "passphrase" in p.message or "password" in p.message, p.message
    monkeypatch.setenv("CADANG_TEST_PW", TEST_PASSWORD)
    assert check(path, offline=False) == []


def test_absent_external_disk_is_a_warning(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    path = plan_file(
        tmp_path,
        "- {type: files, name: code, paths: [/]}\n",
        repositories="""\
        main:
          path: repo
          password_env: CADANG_TEST_PW
        external-disk:
          path: /media/cadang-test-not-plugged-in/cadang
          password_env: CADANG_TEST_PW
        """,
    )
    path.write_text(path.read_text() + "copies: [external-disk]\n")
    (p,) = check(path, offline=False)
    assert not p.is_error
    assert "is not present (is the external disk plugged in?)" in p.message
    assert p.line == line_of(path, "/media/cadang-test-not-plugged-in")


# --- databases ------------------------------------------------------------------------------


@pytest.mark.skipif(
    shutil.which("psql") is None or shutil.which("pg_dump") is None,
    reason="the PostgreSQL client tools are not installed (apt install postgresql-client)",
)
def test_unreachable_postgres_is_an_error_with_the_reason(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    path = plan_file(
        tmp_path,
        """\
        - type: files
          name: code
          paths: [/]
        - type: postgres
          name: db
          host: 127.0.0.1
          port: 1
          databases: [simpeg]
        """,
    )
    problems = check(path, offline=False)
    (p,) = problems
    assert p.is_error and p.message.startswith("simpeg/db: ")
    assert p.line == line_of(path, "type: postgres")
    assert "127.0.0.1" in p.message or "refused" in p.message.lower(), p.message
    # Offline, the database is not contacted.
    assert check(path, offline=True) == []
