"""Backing up a command's output: a failed command never becomes a snapshot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import run_cadang

from cadang.backends import FileType
from cadang.backends.local import LocalBackend
from cadang.errors import CommandFailedError, UsageError
from cadang.sources.process import StreamingCommand

DUMP = [
    sys.executable,
    "-c",
    "import sys; sys.stdout.write('INSERT INTO t VALUES (1);\\n' * 50000)",
]
FAILING = [
    sys.executable,
    "-c",
    "import sys; sys.stdout.write('half a dump'); sys.stderr.write('pg_dump: connection lost\\n');"
    " sys.exit(4)",
]


def test_streaming_command_reads_output_and_reports_success() -> None:
    with StreamingCommand(DUMP) as cmd:
        data = cmd.start().read()
        cmd.finish()
    assert data == b"INSERT INTO t VALUES (1);\n" * 50000


def test_streaming_command_raises_on_failure_with_the_exit_code() -> None:
    with StreamingCommand(FAILING) as cmd:
        assert cmd.start().read() == b"half a dump"
        with pytest.raises(CommandFailedError, match="exit code 4"):
            cmd.finish()


def test_missing_command_is_a_clear_usage_error() -> None:
    with (
        pytest.raises(UsageError, match="command not found"),
        StreamingCommand(["/nonexistent/pg_dump"]) as cmd,
    ):
        cmd.start()


def test_an_abandoned_command_is_killed() -> None:
    with StreamingCommand([sys.executable, "-c", "import time; time.sleep(60)"]) as cmd:
        cmd.start()
        proc = cmd._proc
    assert proc is not None and proc.returncode is not None


def test_cli_backs_up_command_output_and_refuses_a_failed_dump(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    repo = tmp_path / "repo"
    assert run_cadang("init", "--repo", repo, env=cli_env).returncode == 0

    failed = run_cadang(
        "backup", "--repo", repo, "--stdin-from-command", "--stdin-name", "db.sql", "--", *FAILING,
        env=cli_env,
    )  # fmt: skip
    assert failed.returncode == 1
    assert b"exit code 4" in failed.stderr and b"no snapshot was written" in failed.stderr
    assert b"pg_dump: connection lost" in failed.stderr  # the tool's own message reaches the user
    assert list(LocalBackend(str(repo)).list(FileType.SNAPSHOT)) == []

    ok = run_cadang(
        "backup", "--repo", repo, "--stdin-from-command", "--stdin-name", "db.sql", "--", *DUMP,
        env=cli_env,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    dumped = run_cadang("dump", "--repo", repo, "latest", "/db.sql", env=cli_env)
    assert dumped.returncode == 0
    assert dumped.stdout == b"INSERT INTO t VALUES (1);\n" * 50000
