"""Real processes killed with SIGKILL in the middle of a backup or a prune, and two backups
into one repository at once.

After every kill: the repository opens, ``check --read-data`` passes, every snapshot's trees
and file contents are there, and the killed process's lock counts as stale (its pid is dead on
this host), so the next backup or prune runs without an unlock. At the end ``cadang unlock``
clears the stale locks, and a last backup restores byte for byte.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TEST_PASSWORD, restored_path, run_cadang, tree_listing

from cadang.backends import FileType
from cadang.backends.local import LocalBackend
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.checker import Checker
from cadang.repo.config import RepoConfig
from cadang.repo.keys import TEST_KDF
from cadang.repo.locks import LockInfo, read_locks
from cadang.repo.pruner import remove_snapshots
from cadang.repo.repository import Repository
from cadang.repo.snapshot import load_all
from cadang.repo.tree import NodeType
from cadang.repo.walker import walk

pytestmark = pytest.mark.slow

SEED = 20241121
KILLS = 6
PACK_SIZE = 512 * 1024  # small packs: many files written, many moments to be killed at


# --- a generated tree of a few tens of MB -------------------------------------------------


def _text(rnd: random.Random, size: int) -> bytes:
    words = [b"INSERT", b"INTO", b"pegawai", b"VALUES", b"(", b")", b"NIP", b"'Jakarta'", b";\n"]
    out = bytearray()
    while len(out) < size:
        out += rnd.choice(words) + b" " + str(rnd.randint(0, 10**6)).encode() + b" "
    return bytes(out[:size])


def _content(rnd: random.Random, kind: int) -> bytes:
    if kind == 0:
        return _text(rnd, rnd.randint(500, 20_000))  # source-like, compressible
    if kind == 1:
        return rnd.randbytes(rnd.randint(40_000, 300_000))  # scans
    return rnd.randbytes(rnd.randint(2, 4) * 1024 * 1024)  # large files, several chunks


def generate(root: Path, rnd: random.Random) -> Path:
    """About 30 MB in ~400 files over a few directories."""
    for i in range(400):
        kind = 2 if i % 80 == 0 else (1 if i % 5 == 0 else 0)
        p = root / f"dir{i % 7}" / f"sub{i % 3}" / f"file{i:03d}.dat"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(_content(rnd, kind))
    return root


def mutate(root: Path, rnd: random.Random) -> None:
    """Change about a fifth of the files, remove a few, add a few."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for p in rnd.sample(files, len(files) // 5):
        p.write_bytes(_content(rnd, 1 if rnd.random() < 0.3 else 0))
    for p in rnd.sample(files, 5):
        if p.exists():
            p.unlink()
    for i in range(10):
        (root / "new").mkdir(exist_ok=True)
        (root / "new" / f"n{rnd.randrange(10**9)}-{i}.dat").write_bytes(_content(rnd, i % 2))


# --- verification --------------------------------------------------------------------------


def open_repo(path: Path) -> Repository:
    return Repository.open(LocalBackend(str(path)), TEST_PASSWORD)


def assert_repository_sound(path: Path) -> list[str]:
    """Check with --read-data, and walk every snapshot; return the snapshot ids."""
    repo = open_repo(path)
    try:
        result = Checker(repo).check(read_data=True)
        assert result.ok, result.errors
        ids = []
        for snap in load_all(repo):
            ids.append(snap.id)
            for _path, node in walk(repo, snap.tree):  # every tree loads
                if node.type is NodeType.FILE:
                    size = 0
                    for blob_id in node.content:
                        entry = repo.index.lookup(blob_id)
                        assert entry is not None, f"{snap.short_id}: blob missing"
                        size += entry.raw_length
                    assert size == node.size
        # Whatever lock a killed process left is stale: its pid is gone on this host.
        for info in read_locks(repo):
            assert isinstance(info, LockInfo) and info.is_stale(), info
        return ids
    finally:
        repo.close()


def start(env: dict[str, str], *args: str | os.PathLike[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cadang", *(os.fspath(a) for a in args)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_after(proc: subprocess.Popen[bytes], delay: float) -> str:
    """SIGKILL after ``delay`` seconds; return what the process reported on stderr."""
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    _out, err = proc.communicate(timeout=30)
    return err.decode(errors="replace")


def kill_at_phase(proc: subprocess.Popen[bytes], phase: str, delay: float) -> str:
    """SIGKILL ``delay`` seconds after the process reports ``phase`` on stderr."""
    assert proc.stderr is not None
    seen = []
    for raw in proc.stderr:
        line = raw.decode(errors="replace").strip()
        seen.append(line)
        if phase in line:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    return seen[-1] if seen else "(nothing)"


def timed(env: dict[str, str], *args: str | os.PathLike[str]) -> float:
    t0 = time.monotonic()
    r = run_cadang(*args, env=env, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    return time.monotonic() - t0


def final_round(env: dict[str, str], repo: Path, src: Path, target: Path) -> None:
    """Stale locks can be removed; a last backup works and restores byte-identically."""
    r = run_cadang("unlock", "--repo", repo, env=env)
    assert r.returncode == 0, r.stderr.decode()
    assert not list(LocalBackend(str(repo)).list(FileType.LOCK))
    timed(env, "backup", "--repo", repo, "--quiet", src)
    timed(env, "restore", "--repo", repo, "latest", "--target", target)
    assert tree_listing(restored_path(target, src)) == tree_listing(src)
    assert_repository_sound(repo)


@pytest.fixture
def small_pack_repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    Repository.init(
        LocalBackend(str(path)), TEST_PASSWORD, TEST_KDF, RepoConfig(pack_size=PACK_SIZE)
    ).close()
    return path


# --- the tests -------------------------------------------------------------------------------


def test_sigkill_during_backup(
    cli_env: dict[str, str], small_pack_repo: Path, tmp_path: Path
) -> None:
    rnd = random.Random(SEED)
    repo = small_pack_repo
    src = generate(tmp_path / "src", rnd)
    duration = timed(cli_env, "backup", "--repo", repo, "--quiet", src)
    snapshots = assert_repository_sound(repo)
    assert len(snapshots) == 1

    for _round in range(KILLS):
        mutate(src, rnd)
        proc = start(cli_env, "backup", "--repo", repo, "--quiet", src)
        kill_after(proc, rnd.uniform(0.1, duration))
        after = assert_repository_sound(repo)
        # A killed backup adds no snapshot or a complete one; none is lost.
        assert set(snapshots) <= set(after)
        assert len(after) - len(snapshots) in (0, 1)
        snapshots = after

    final_round(cli_env, repo, src, tmp_path / "restored")


def test_sigkill_during_prune(
    cli_env: dict[str, str], small_pack_repo: Path, tmp_path: Path
) -> None:
    rnd = random.Random(SEED + 1)
    path = small_pack_repo
    src = generate(tmp_path / "src", rnd)

    def new_generation() -> list[str]:
        """One more snapshot of a changed tree; forget all but the newest two."""
        mutate(src, rnd)
        repo = open_repo(path)
        try:
            Archiver(repo).backup(BackupOptions(paths=[str(src)]))
            snaps = load_all(repo)
            remove_snapshots(repo, snaps[:-2])
            return [s.id for s in snaps[-2:]]
        finally:
            repo.close()

    new_generation()
    new_generation()
    prune = ("prune", "--repo", path, "--max-unused", "0%")
    duration = timed(cli_env, *prune)
    reached: list[str] = []
    # Prune reports each phase on stderr: aim some kills at each step of the crash-safe
    # order (new packs, new index, old index files, old packs), the rest at random times.
    phases = ["repacking", "writing the new index", "removing the old index", "removing packs"]
    for i in range(KILLS):
        kept = new_generation()
        proc = start(cli_env, *prune)
        if i < len(phases):
            reached.append(kill_at_phase(proc, phases[i], rnd.uniform(0.0, 0.01)))
        else:
            err = kill_after(proc, rnd.uniform(0.2, duration * 1.1))
            reached.append(err.strip().splitlines()[-1] if err.strip() else "(not started)")
        assert sorted(assert_repository_sound(path)) == sorted(kept), reached

    print("prune killed after:", reached)  # shown with -s
    # The stale lock of the last killed prune does not stop the next one.
    timed(cli_env, *prune)
    assert_repository_sound(path)
    final_round(cli_env, path, src, tmp_path / "restored")


def test_two_backups_into_one_repository_at_once(
    cli_env: dict[str, str], small_pack_repo: Path, tmp_path: Path
) -> None:
    rnd = random.Random(SEED + 2)
    a = generate(tmp_path / "a", rnd)
    b = tmp_path / "b"
    # b shares half its files with a, so both processes store some of the same blobs.
    for i, p in enumerate(sorted(x for x in a.rglob("*") if x.is_file())):
        q = b / p.relative_to(a)
        q.parent.mkdir(parents=True, exist_ok=True)
        q.write_bytes(p.read_bytes() if i % 2 else _content(rnd, 0))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cadang",
                "backup",
                "--repo",
                str(small_pack_repo),
                "--json",
                str(src),
            ],
            env=cli_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for src in (a, b)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err.decode()
    ids = [json.loads(out)["snapshot"] for out, _err in results]
    assert sorted(assert_repository_sound(small_pack_repo)) == sorted(ids)

    for src, snap in zip((a, b), ids, strict=True):
        target = tmp_path / f"restore-{src.name}"
        r = run_cadang(
            "restore", "--repo", small_pack_repo, snap, "--target", target,
            env=cli_env, timeout=120,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr.decode()
        assert tree_listing(restored_path(target, src)) == tree_listing(src)
