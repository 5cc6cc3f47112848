"""Command source: stdout is the backup, the restore command takes it on stdin."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sources_helpers import backup, reader, snapshot_count

from cadang.errors import CommandFailedError, RestoreError, UsageError
from cadang.repo.repository import Repository
from cadang.sources.base import RestoreTarget
from cadang.sources.command import CommandSourceImpl, restore_argv
from cadang.sources.config import CommandSource

PY = sys.executable
DATA = "".join(f"baris {i}: data kependudukan 🌴\n" for i in range(40_000))
PRODUCE = [
    PY, "-c",
    "import sys; sys.stdout.buffer.write(''.join("
    "f'baris {i}: data kependudukan \\U0001f334\\n' for i in range(40_000)).encode())",
]  # fmt: skip
# Writes stdin to the file named by its argument, and the restore mode from the environment.
CONSUME = [
    PY, "-c",
    "import os, sys; data = sys.stdin.buffer.read();"
    " open(sys.argv[1], 'wb').write(data);"
    " open(sys.argv[1] + '.mode', 'w').write(os.environ['CADANG_RESTORE_MODE'])",
]  # fmt: skip


def source(**kw: object) -> CommandSourceImpl:
    return CommandSourceImpl(
        CommandSource.model_validate({"type": "command", "name": "ldap", "backup": PRODUCE, **kw})
    )


def test_backup_and_restore_through_commands(repo: Repository, tmp_path: Path) -> None:
    out = tmp_path / "restored.ldif"
    src = source(restore=[*CONSUME, str(tmp_path / "{into}")], filename="ldap.ldif")
    snap = backup(repo, src)
    r = reader(repo, snap)
    assert r.names() == ["ldap.ldif"]

    outcome = src.restore(r, RestoreTarget(into="restored.ldif"))
    assert out.read_text() == DATA
    assert (tmp_path / "restored.ldif.mode").read_text() == "new"
    assert outcome.restored == ["restored.ldif"]

    with pytest.raises(UsageError, match="needs a new name"):
        src.restore(r, RestoreTarget())


def test_default_name_and_in_place(repo: Repository, tmp_path: Path) -> None:
    target = tmp_path / "live.dat"
    src = source(restore=[*CONSUME, str(target)])
    snap = backup(repo, src)
    assert reader(repo, snap).names() == ["ldap.out"]
    src.restore(reader(repo, snap), RestoreTarget(in_place=True))
    assert target.read_text() == DATA
    assert (tmp_path / "live.dat.mode").read_text() == "in-place"


def test_a_failing_backup_command_writes_no_snapshot(repo: Repository) -> None:
    failing = [PY, "-c", "import sys; print('half'); sys.stderr.write('ldap: server down\\n');"
               " sys.exit(3)"]  # fmt: skip
    with pytest.raises(CommandFailedError, match="exit code 3") as err:
        backup(repo, source(backup=failing))
    assert "ldap: server down" in err.value.message  # the tool's reason, in the error
    assert snapshot_count(repo) == 0


def test_a_failing_restore_command_is_reported(repo: Repository) -> None:
    failing = [PY, "-c", "import sys; sys.stdin.read(10); sys.stderr.write('slapadd: bad entry\\n');"
               " sys.exit(5)"]  # fmt: skip
    src = source(restore=failing)
    snap = backup(repo, src)
    with pytest.raises(CommandFailedError, match="exit code 5") as err:
        src.restore(reader(repo, snap), RestoreTarget(in_place=True))
    assert "slapadd: bad entry" in err.value.message
    with pytest.raises(UsageError, match="no restore command"):
        source().restore(reader(repo, snap), RestoreTarget(in_place=True))
    assert not isinstance(err.value, RestoreError)


def test_restore_argv_and_tools() -> None:
    cfg = CommandSource(type="command", name="x", backup=["dump"], restore=["load", "--db={into}"])
    assert restore_argv(cfg, RestoreTarget(into="baru")) == ["load", "--db=baru"]
    assert source().probe().endswith("(not run)")
    with pytest.raises(UsageError, match="command not found"):
        source(backup=["/nonexistent/tool"]).probe()
    assert [t.command for t in source(restore=["load"]).required_tools()] == [PY, "load"]
