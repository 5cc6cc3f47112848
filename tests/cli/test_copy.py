"""cadang copy --repo SRC --to DST [SNAPSHOT...]."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TEST_PASSWORD, CliResult, Symlink, make_tree, reopen, tree_listing

from cadang.repo.locks import locked

Cli = Callable[..., CliResult]
DST_PASSWORD = "external disk"
MiB = 1024 * 1024


@pytest.fixture
def data(tmp_path: Path) -> Path:
    rnd = random.Random(4)
    return make_tree(
        tmp_path / "data",
        {
            "scan.bin": rnd.randbytes(2 * MiB + 777_777),
            "laporan.txt": "laporan harian\n" * 300,
            "arsip": {"catatan.txt": "catatan", "tautan": Symlink("../laporan.txt")},
        },
    )


@pytest.fixture
def src(cli: Cli, tmp_path: Path, data: Path) -> Path:
    path = tmp_path / "src"
    assert cli("init", "--repo", path).code == 0
    result = cli("backup", "--repo", path, "--label", "pertama", "--tag", "harian", data)
    assert result.code == 0, result.err
    return path


@pytest.fixture(params=["shared", "independent"])
def dst(
    request: pytest.FixtureRequest,
    cli: Cli,
    src: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    path = tmp_path / "dst"
    src_pw = tmp_path / "src.pw"
    src_pw.write_text(TEST_PASSWORD)
    dst_pw = tmp_path / "dst.pw"
    dst_pw.write_text(DST_PASSWORD)
    args: list[str | Path] = ["init", "--repo", path, "--password-file", dst_pw]
    if request.param == "shared":
        args += ["--copy-chunker-params-from", src, "--from-password-file", src_pw]
    result = cli(*args)
    assert result.code == 0, result.err
    assert _shares_ids(src, path) == (request.param == "shared")
    monkeypatch.setenv("CADANG_TO_PASSWORD", DST_PASSWORD)
    return path


def copy_json(cli: Cli, src: Path, dst: Path, *snapshots: str) -> dict[str, object]:
    result = cli("copy", "--repo", src, "--to", dst, "--json", *snapshots)
    assert result.code == 0, result.err
    doc: dict[str, object] = json.loads(result.out)
    return doc


def test_copy_then_restore_from_the_copy(
    cli: Cli, src: Path, dst: Path, tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli("copy", "--repo", src, "--to", dst)
    assert result.code == 0, result.err
    assert "copied as" in result.out and "1 snapshot(s) copied, 0 skipped" in result.out

    assert cli("restore", "--repo", src, "latest", "--target", tmp_path / "r-src").code == 0
    monkeypatch.setenv("CADANG_PASSWORD", DST_PASSWORD)
    restored = cli("restore", "--repo", dst, "pertama", "--target", tmp_path / "r-dst")
    assert restored.code == 0, restored.err
    assert tree_listing(tmp_path / "r-dst") == tree_listing(tmp_path / "r-src")
    assert tree_listing(tmp_path / "r-dst" / str(data).lstrip("/")) == tree_listing(data)

    snaps = json.loads(cli("snapshots", "--repo", dst, "--json").out)
    assert [(s["label"], s["tags"]) for s in snaps] == [("pertama", ["harian"])]
    assert snaps[0]["original"] is not None

    # Again: skipped, nothing added.
    monkeypatch.setenv("CADANG_PASSWORD", TEST_PASSWORD)
    again = cli("copy", "--repo", src, "--to", dst)
    assert again.code == 0 and "skipped: already there" in again.out
    doc = copy_json(cli, src, dst)
    assert (doc["copied"], doc["skipped"], doc["blobs_added"], doc["bytes_added"]) == (0, 1, 0, 0)


def test_copy_named_snapshots_and_only_the_changes(
    cli: Cli, src: Path, dst: Path, data: Path
) -> None:
    first = copy_json(cli, src, dst, "latest")
    full_blobs = first["blobs_added"]
    assert isinstance(full_blobs, int) and full_blobs > 0
    assert first["shared_ids"] == _shares_ids(src, dst)

    (data / "laporan.txt").write_text("laporan yang sudah diubah\n" * 10)
    assert cli("backup", "--repo", src, "--label", "kedua", data).code == 0
    doc = copy_json(cli, src, dst, "kedua", "pertama")
    statuses = [s["status"] for s in doc["snapshots"]]  # type: ignore[union-attr]
    assert statuses == ["skipped", "copied"]
    added = doc["blobs_added"]
    assert isinstance(added, int) and 0 < added < full_blobs
    assert isinstance(doc["bytes_added"], int) and doc["bytes_added"] < MiB


def _shares_ids(src: Path, dst: Path) -> bool:
    a, b = reopen(src, TEST_PASSWORD), reopen(dst, DST_PASSWORD)
    try:
        return a.master.id_key == b.master.id_key
    finally:
        a.close()
        b.close()


def test_copy_errors_are_clear(cli: Cli, src: Path, tmp_path: Path) -> None:
    missing = cli("copy", "--repo", src, "--to", tmp_path / "nowhere")
    assert missing.code == 10
    assert "to copy to" in missing.err and "copy-chunker-params-from" in missing.err

    dst = tmp_path / "dst"
    pw = tmp_path / "dst.pw"
    pw.write_text(DST_PASSWORD)
    assert cli("init", "--repo", dst, "--password-file", pw).code == 0
    no_pw = cli("copy", "--repo", src, "--to", dst)
    assert no_pw.code == 2 and "no terminal" in no_pw.err
    wrong = cli("copy", "--repo", src, "--to", dst, "--to-password-file", tmp_path / "nope.pw")
    assert wrong.code == 2 and "cannot read password file" in wrong.err
    unknown = cli("copy", "--repo", src, "--to", dst, "--to-password-file", pw, "rabu")
    assert unknown.code != 0 and "rabu" in unknown.err
    same = cli("copy", "--repo", src, "--to", src, "--to-password-file", tmp_path / "src.pw")
    assert same.code != 0


def test_copy_waits_for_no_exclusive_lock(
    cli: Cli, src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dst = tmp_path / "dst"
    pw = tmp_path / "dst.pw"
    pw.write_text(DST_PASSWORD)
    assert cli("init", "--repo", dst, "--password-file", pw).code == 0
    monkeypatch.setenv("CADANG_TO_PASSWORD_FILE", str(pw))
    held = reopen(dst, DST_PASSWORD)
    try:
        with locked(held, exclusive=True):  # a prune on the external disk
            refused = cli("copy", "--repo", src, "--to", dst)
            assert refused.code == 11 and "locked" in refused.err
        with locked(held, exclusive=False):  # a shared lock does not stop a copy
            assert cli("copy", "--repo", src, "--to", dst).code == 0
    finally:
        held.close()
