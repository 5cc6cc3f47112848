"""Files source: the plan's paths and excludes through the engine; restore beside and in place."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from conftest import assert_trees_equal, make_tree, restored_path
from sources_helpers import backup, reader

from cadang.errors import SourceError, UsageError
from cadang.repo.repository import Repository
from cadang.sources.base import RestoreTarget
from cadang.sources.config import FilesSource
from cadang.sources.files import FilesSourceImpl


def source(*paths: Path, exclude: list[str] | None = None) -> FilesSourceImpl:
    return FilesSourceImpl(
        FilesSource(type="files", name="code", paths=[str(p) for p in paths], exclude=exclude or [])
    )


def test_backup_and_restore_into_a_directory_and_in_place(repo: Repository, tmp_path: Path) -> None:
    app = make_tree(
        tmp_path / "srv" / "app",
        {
            "index.php": "<?php echo 'Selamat datang 🌴';",
            "config": {"db.ini": "host=127.0.0.1\n"},
            "cache": {"big.tmp": b"x" * 10000},
            "uploads": {"foto.jpg": os.urandom(70_000)},
        },
    )
    src = source(app, exclude=["*.tmp"])
    assert src.backup_spec().excludes == ["*.tmp"]
    snap = backup(repo, src)
    assert snap.paths == [str(app)]

    target = tmp_path / "restore"
    outcome = src.restore(reader(repo, snap), RestoreTarget(into=str(target)))
    back = restored_path(target, app)
    assert outcome.restored == [str(back)]
    assert not (back / "cache" / "big.tmp").exists()  # excluded
    cache_times = os.stat(app / "cache")
    (app / "cache" / "big.tmp").unlink()  # so that the trees compare equal
    os.utime(app / "cache", ns=(cache_times.st_atime_ns, cache_times.st_mtime_ns))
    assert_trees_equal(app, back)

    expected = {p: p.read_bytes() for p in app.rglob("*") if p.is_file()}
    (app / "index.php").write_text("rusak")
    (app / "config" / "db.ini").unlink()
    (app / "new.txt").write_text("made after the backup")
    outcome = src.restore(reader(repo, snap), RestoreTarget(in_place=True))
    assert outcome.restored == [str(app)]
    for p, data in expected.items():
        assert p.read_bytes() == data
    assert (app / "new.txt").read_text() == "made after the backup"  # left alone


def test_probe_and_bad_targets(repo: Repository, tmp_path: Path) -> None:
    here = make_tree(tmp_path / "a", {"f": "x"})
    assert source(here).probe() == "1 paths readable"
    with pytest.raises(SourceError, match="does not exist") as err:
        source(here, tmp_path / "missing", tmp_path / "gone").probe()
    assert "missing" in err.value.message and "gone" in err.value.message  # every problem
    assert source(here).required_tools() == []

    snap = backup(repo, source(here))
    with pytest.raises(UsageError, match="say where"):
        source(here).restore(reader(repo, snap), RestoreTarget())

    class NotASnapshot:
        def names(self) -> list[str]:
            return []

        def open(self, name: str) -> io.BytesIO:
            return io.BytesIO()

    with pytest.raises(UsageError):
        source(here).restore(NotASnapshot(), RestoreTarget(into=str(tmp_path / "x")))
