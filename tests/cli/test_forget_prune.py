"""cadang forget and cadang prune from the command line, including prune against a backup
that holds its lock."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult, make_tree, reopen, restored_path, run_cadang, tree_listing

from cadang.backends import FileType
from cadang.repo.crypto import storage_id
from cadang.repo.locks import Lock
from cadang.repo.snapshot import Snapshot, load_all, save_snapshot

Cli = Callable[..., CliResult]
WIB = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture
def repo_dir(cli: Cli, tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    assert cli("init", "--repo", path).code == 0
    return path


def write_files(src: Path, seed: int, count: int = 12) -> Path:
    rnd = random.Random(seed)
    return make_tree(
        src, {f"f{i:02d}.bin": rnd.randbytes(rnd.randint(5_000, 40_000)) for i in range(count)}
    )  # type: ignore[arg-type]


def snapshot_files(repo_dir: Path) -> set[str]:
    return {p.name for p in (repo_dir / "snapshots").iterdir() if not p.name.endswith(".tmp")}


def pack_files(repo_dir: Path) -> set[str]:
    return {p.name for p in (repo_dir / "data").glob("*/*") if not p.name.endswith(".tmp")}


def backup(cli: Cli, repo_dir: Path, src: Path, *extra: str) -> str:
    r = cli("backup", "--repo", repo_dir, "--json", *extra, src)
    assert r.code == 0, r.err
    return str(json.loads(r.out)["snapshot"])


def fake_history(
    repo_dir: Path, times: list[dt.datetime], tags: list[str] | None = None, host: str = ""
) -> None:
    """Snapshots at chosen times (all sharing the tree of a real one)."""
    repo = reopen(repo_dir)
    try:
        base = load_all(repo)[-1]
        for t in times:
            save_snapshot(
                repo,
                Snapshot(
                    time=t,
                    tree=base.tree,
                    paths=base.paths,
                    hostname=host or base.hostname,
                    username=base.username,
                    tags=tags or [],
                ),
            )
    finally:
        repo.close()


# --- forget ------------------------------------------------------------------------------


def test_forget_without_a_keep_option_refuses(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    backup(cli, repo_dir, write_files(tmp_path / "src", 1))
    r = cli("forget", "--repo", repo_dir)
    assert r.code == 2
    assert "no keep option given" in r.err
    assert "--keep-last" in r.err  # the hint names the options
    assert "Traceback" not in r.err
    r = cli("forget", "--repo", repo_dir, "--keep-daily", "0", "--keep-last", "0")
    assert r.code == 2
    assert len(snapshot_files(repo_dir)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--keep-within", "7 days"], "invalid duration"),
        (["--keep-last", "-1"], "-1"),
        (["--keep-last", "1", "--group-by", "colour"], "cannot group by"),
        (["--keep-last", "1", "--prune", "--max-unused", "150%"], "--max-unused"),
    ],
)
def test_forget_rejects_bad_options(
    cli: Cli, repo_dir: Path, args: list[str], message: str
) -> None:
    r = cli("forget", "--repo", repo_dir, *args)
    assert r.code == 2
    assert message in r.err + r.out


def test_forget_keep_last_dry_run_then_for_real(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    src = write_files(tmp_path / "src", 2)
    ids = [backup(cli, repo_dir, src, "--force") for _ in range(3)]
    r = cli("forget", "--repo", repo_dir, "--keep-last", "1", "--dry-run")
    assert r.code == 0, r.err
    assert "2 snapshot(s) would be removed" in r.out
    assert snapshot_files(repo_dir) == set(ids)

    r = cli("forget", "--repo", repo_dir, "--keep-last", "1", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["removed"] == 2 and not doc["dry_run"]
    (group,) = doc["groups"]
    assert group["group"]["paths"] == [str(src)]
    assert [(s["id"], s["reasons"]) for s in group["keep"]] == [(ids[-1], ["last"])]
    assert {s["id"] for s in group["remove"]} == set(ids[:2])
    assert snapshot_files(repo_dir) == {ids[-1]}


def test_forget_grandfather_father_son(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    backup(cli, repo_dir, write_files(tmp_path / "src", 3))
    # Jakarta time: two snapshots a day at 01:00 and 23:30 for 40 days, from another host.
    start = dt.datetime(2024, 1, 1, tzinfo=WIB)  # a Monday
    times = [start + dt.timedelta(days=d, hours=h) for d in range(40) for h in (1, 23.5)]
    fake_history(repo_dir, times, host="arsip")
    r = cli(
        "forget", "--repo", repo_dir, "--host", "arsip", "--keep-daily", "3",
        "--keep-weekly", "2", "--keep-monthly", "2", "--json", "--dry-run",
    )  # fmt: skip
    assert r.code == 0, r.err
    (group,) = json.loads(r.out)["groups"]
    kept = {s["time"]: s["reasons"] for s in group["keep"]}
    assert kept == {
        "2024-02-09T23:30:00+07:00": ["daily", "weekly", "monthly"],
        "2024-02-08T23:30:00+07:00": ["daily"],
        "2024-02-07T23:30:00+07:00": ["daily"],
        "2024-02-04T23:30:00+07:00": ["weekly"],  # Sunday: the last of ISO week 5
        "2024-01-31T23:30:00+07:00": ["monthly"],
    }
    assert len(group["remove"]) == 80 - 5
    assert len(snapshot_files(repo_dir)) == 81  # a dry run


def test_forget_filters_by_tag_and_groups(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    src = write_files(tmp_path / "src", 4)
    tagged = [backup(cli, repo_dir, src, "--force", "--tag", "db") for _ in range(2)]
    plain = [backup(cli, repo_dir, src, "--force") for _ in range(2)]
    other_host = backup(cli, repo_dir, src, "--force", "--host", "laptop")
    r = cli("forget", "--repo", repo_dir, "--keep-last", "1", "--tag", "db", "--json")
    assert r.code == 0, r.err
    assert snapshot_files(repo_dir) == {tagged[1], *plain, other_host}
    # Grouped by host, each host keeps its newest; with no grouping only one stays.
    r = cli("forget", "--repo", repo_dir, "--keep-last", "1", "--group-by", "host", "--dry-run")
    assert r.code == 0, r.err
    assert "would be removed" in r.out and "laptop" in r.out
    assert cli("forget", "--repo", repo_dir, "--keep-last", "1", "--group-by", "host").code == 0
    assert snapshot_files(repo_dir) == {plain[1], other_host}
    assert cli("forget", "--repo", repo_dir, "--keep-last", "1", "--group-by", "none").code == 0
    assert snapshot_files(repo_dir) == {other_host}


def test_forget_keep_tag_and_within(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    backup(cli, repo_dir, write_files(tmp_path / "src", 5))
    repo = reopen(repo_dir)
    newest = load_all(repo)[-1].time
    repo.close()
    fake_history(repo_dir, [newest - dt.timedelta(days=d) for d in (1, 2, 10, 20)])
    fake_history(repo_dir, [newest - dt.timedelta(days=400)], tags=["arsip"])
    r = cli("forget", "--repo", repo_dir, "--keep-within", "1w", "--keep-tag", "arsip", "--json")
    assert r.code == 0, r.err
    (group,) = json.loads(r.out)["groups"]
    assert [s["reasons"] for s in group["keep"]] == [["within"]] * 3 + [["tag"]]
    assert len(group["remove"]) == 2
    assert len(snapshot_files(repo_dir)) == 4


def test_forget_named_snapshots(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    src = write_files(tmp_path / "src", 6)
    a, b = backup(cli, repo_dir, src, "--force"), backup(cli, repo_dir, src, "--force")
    r = cli("forget", "--repo", repo_dir, a[:10], "--keep-last", "1")
    assert r.code == 2
    r = cli("forget", "--repo", repo_dir, a[:10])
    assert r.code == 0, r.err
    assert "removed 1 snapshot(s)" in r.out
    assert snapshot_files(repo_dir) == {b}
    r = cli("forget", "--repo", repo_dir, "no-such-snapshot")
    assert r.code != 0 and "no snapshot matches" in r.err


def test_forget_prune_frees_space_and_keeps_the_rest(
    cli: Cli, repo_dir: Path, tmp_path: Path
) -> None:
    src = write_files(tmp_path / "src", 7)
    backup(cli, repo_dir, src)
    rnd = random.Random(8)
    for f in sorted(src.iterdir())[::2]:
        f.write_bytes(rnd.randbytes(30_000))
    latest = backup(cli, repo_dir, src)
    packs_before = pack_files(repo_dir)

    # Dry run first: the prune part counts the forgotten snapshot as gone.
    r = cli("forget", "--repo", repo_dir, "--keep-last", "1", "--prune", "--dry-run", "--json")
    assert r.code == 0, r.err
    dry = json.loads(r.out)
    assert dry["prune"]["dry_run"] and dry["prune"]["snapshots"] == 1
    assert dry["prune"]["blobs_removed"] >= 6  # the replaced files, and changed trees
    assert len(snapshot_files(repo_dir)) == 2 and pack_files(repo_dir) == packs_before

    r = cli(
        "forget", "--repo", repo_dir, "--keep-last", "1", "--prune", "--max-unused", "0%", "--json"
    )
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["removed"] == 1
    assert doc["prune"]["blobs_removed"] == dry["prune"]["blobs_removed"]
    assert doc["prune"]["bytes_freed"] > 0
    assert pack_files(repo_dir) != packs_before
    assert snapshot_files(repo_dir) == {latest}

    r = cli("restore", "--repo", repo_dir, "latest", "--target", tmp_path / "out")
    assert r.code == 0, r.err
    assert tree_listing(restored_path(tmp_path / "out", src)) == tree_listing(src)
    assert cli("check", "--repo", repo_dir, "--read-data").code == 0


# --- prune -------------------------------------------------------------------------------


def test_prune_text_report(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    src = write_files(tmp_path / "src", 9)
    first = backup(cli, repo_dir, src)
    for f in sorted(src.iterdir())[:3]:
        f.write_bytes(b"changed " * 4000)
    backup(cli, repo_dir, src)
    assert cli("forget", "--repo", repo_dir, first).code == 0
    r = cli("prune", "--repo", repo_dir, "--max-unused", "0")
    assert r.code == 0, r.err
    removed = re.search(r"blobs removed: (\d+)", r.out)
    assert removed and int(removed.group(1)) >= 3
    assert "packs:" in r.out and "space freed:" in r.out
    assert "loading snapshots" in r.err  # progress goes to stderr
    r = cli("prune", "--repo", repo_dir, "--json")
    doc = json.loads(r.out)
    assert (doc["blobs_removed"], doc["packs_deleted"], doc["packs_repacked"]) == (0, 0, 0)


@pytest.mark.parametrize("value", ["abc", "-1%", "101%", "5%%"])
def test_prune_rejects_a_bad_max_unused(cli: Cli, repo_dir: Path, value: str) -> None:
    r = cli("prune", "--repo", repo_dir, "--max-unused", value)
    assert r.code == 2
    assert "--max-unused" in r.err


def test_prune_refuses_when_a_snapshot_is_unreadable(
    cli: Cli, repo_dir: Path, tmp_path: Path
) -> None:
    backup(cli, repo_dir, write_files(tmp_path / "src", 10))
    garbage = b"this is not a snapshot"
    (repo_dir / "snapshots" / storage_id(garbage)).write_bytes(garbage)
    packs = pack_files(repo_dir)
    r = cli("prune", "--repo", repo_dir)
    assert r.code == 1
    assert "refusing to prune" in r.err and storage_id(garbage)[:8] in r.err
    assert pack_files(repo_dir) == packs
    r = cli("forget", "--repo", repo_dir, "--keep-last", "1", "--prune")
    assert r.code == 1 and "refusing to prune" in r.err
    assert len(snapshot_files(repo_dir)) == 2  # nothing forgotten either


def test_prune_refuses_while_a_backup_holds_its_lock_and_waits_with_retry(
    cli: Cli, repo_dir: Path, tmp_path: Path
) -> None:
    src = write_files(tmp_path / "src", 11)
    first = backup(cli, repo_dir, src)
    backup(cli, repo_dir, write_files(tmp_path / "src2", 12))
    assert cli("forget", "--repo", repo_dir, first).code == 0  # prune would have work
    packs = pack_files(repo_dir)

    repo = reopen(repo_dir)
    lock = Lock(repo, exclusive=False)  # what a running backup holds
    lock.acquire()
    try:
        r = cli("prune", "--repo", repo_dir)
        assert r.code == 11
        assert "the repository is locked" in r.err and "shared lock" in r.err
        assert "--retry-lock" in r.err
        assert pack_files(repo_dir) == packs
        r = cli("forget", "--repo", repo_dir, "--keep-last", "1")
        assert r.code == 11
        # The dry run only reads, so it may run beside a backup.
        assert cli("prune", "--repo", repo_dir, "--dry-run").code == 0

        releaser = threading.Timer(1.0, lock.release)
        releaser.start()
        started = time.monotonic()
        r = cli("prune", "--repo", repo_dir, "--retry-lock", "60")
        releaser.join()
        assert r.code == 0, r.err
        assert time.monotonic() - started >= 0.9  # it waited for the lock to go
        assert pack_files(repo_dir) != packs
    finally:
        lock.release()
        repo.close()
    assert cli("check", "--repo", repo_dir, "--read-data").code == 0


@pytest.mark.slow
def test_prune_beside_a_real_running_backup(
    cli: Cli, cli_env: dict[str, str], repo_dir: Path, tmp_path: Path
) -> None:
    """A `cadang backup -` that is still reading stdin holds its lock; prune refuses, or
    waits with --retry-lock and then finds the backup's data in use."""
    src = write_files(tmp_path / "src", 13)
    old = backup(cli, repo_dir, src)
    backup(cli, repo_dir, write_files(tmp_path / "src2", 14))
    assert cli("forget", "--repo", repo_dir, old).code == 0

    payload = random.Random(15).randbytes(3 * 1024 * 1024)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cadang", "backup", "--repo", str(repo_dir), "--json",
         "--stdin-name", "dump.sql", "-"],
        env=cli_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    waiter: subprocess.Popen[bytes] | None = None
    try:
        assert proc.stdin is not None
        proc.stdin.write(payload[: len(payload) // 2])
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while not any((repo_dir / "locks").iterdir()):
            assert time.monotonic() < deadline, "the backup never took its lock"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)

        r = cli("prune", "--repo", repo_dir)
        assert r.code == 11 and "the repository is locked" in r.err

        waiter = subprocess.Popen(
            [sys.executable, "-m", "cadang", "prune", "--repo", str(repo_dir), "--json",
             "--retry-lock", "120", "--max-unused", "0%"],
            env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(1.0)
        assert waiter.poll() is None  # still waiting for the backup
        out, err = proc.communicate(payload[len(payload) // 2 :], timeout=60)
        assert proc.returncode == 0, err
        snap = json.loads(out)["snapshot"]
        out, err = waiter.communicate(timeout=60)
        assert waiter.returncode == 0, err
        assert json.loads(out)["snapshots"] == 2
    finally:
        for p in (proc, waiter):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()

    dumped = run_cadang("dump", "--repo", repo_dir, snap, "/dump.sql", env=cli_env)
    assert dumped.returncode == 0, dumped.stderr
    assert dumped.stdout == payload
    assert cli("check", "--repo", repo_dir, "--read-data").code == 0
    repo = reopen(repo_dir)
    try:
        assert not list(repo.backend.list(FileType.LOCK))
    finally:
        repo.close()
