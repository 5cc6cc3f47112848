"""Shared fixtures: a repository on a real LocalBackend, tree builders, the CLI environment.

Add new fixtures below the existing ones; several test modules rely on these names.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from cadang import i18n
from cadang.backends.local import LocalBackend
from cadang.repo.keys import TEST_KDF
from cadang.repo.pack import PackedBlob
from cadang.repo.repository import Repository

TEST_PASSWORD = "correct horse battery staple"
IS_ROOT = os.geteuid() == 0

# Tests match the English source strings; Indonesian is the product's default, so choose
# English for this process and every subprocess that inherits the environment.
# tests/test_i18n.py picks its languages explicitly.
os.environ["CADANG_LANG"] = "en"
i18n.activate("en")

# The test machine is small and shared: timing-based hypothesis checks would only flake.
settings.register_profile("cadang", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("cadang")


# --- repositories -------------------------------------------------------------------------


@pytest.fixture
def repo_path(tmp_path: Path) -> Path:
    return tmp_path / "repo"


@pytest.fixture
def repo(repo_path: Path) -> Iterator[Repository]:
    """A fresh repository in tmp_path/repo on the real LocalBackend, cheap KDF."""
    r = Repository.init(LocalBackend(str(repo_path)), TEST_PASSWORD, TEST_KDF)
    try:
        yield r
    finally:
        r.close()


def reopen(path: Path | str, password: str = TEST_PASSWORD) -> Repository:
    """Open an existing repository as a new process would (fresh index, fresh state)."""
    return Repository.open(LocalBackend(str(path)), password)


# --- building trees -----------------------------------------------------------------------


@dataclass(frozen=True)
class Symlink:
    target: str | bytes


@dataclass(frozen=True)
class Hardlink:
    """A hard link to another entry of the spec, by path relative to the tree root."""

    to: str


@dataclass(frozen=True)
class Fifo:
    pass


TreeSpec = dict[str, "bytes | str | TreeSpec | Symlink | Hardlink | Fifo"]


def make_tree(root: Path, spec: TreeSpec) -> Path:
    """Create files (bytes/str), dirs (dict), symlinks, hard links and FIFOs under root.

    ``make_tree(tmp_path / "src", {"a.txt": b"x", "d": {"b": "text"}, "l": Symlink("a.txt")})``
    """
    root.mkdir(parents=True, exist_ok=True)
    links: list[tuple[Path, Hardlink]] = []

    def build(base: Path, sub: TreeSpec) -> None:
        for name, value in sub.items():
            p = base / name
            if isinstance(value, dict):
                p.mkdir(exist_ok=True)
                build(p, value)
            elif isinstance(value, bytes):
                p.write_bytes(value)
            elif isinstance(value, str):
                p.write_text(value)
            elif isinstance(value, Symlink):
                os.symlink(value.target, p)
            elif isinstance(value, Hardlink):
                links.append((p, value))
            elif isinstance(value, Fifo):
                os.mkfifo(p)
            else:  # pragma: no cover - a mistake in a test
                raise TypeError(f"unknown tree spec entry {value!r}")

    build(root, spec)
    for p, link in links:
        os.link(root / link.to, p)
    return root


def make_writable(root: Path | str | bytes) -> None:
    """Undo read-only modes left by a test so the directory can be removed."""
    raw = os.fsencode(root)
    if not os.path.lexists(raw):
        return
    for dirpath, dirnames, _files in os.walk(raw):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, 0o700)
    if os.path.isdir(raw) and not os.path.islink(raw):
        os.chmod(raw, 0o700)


def restored_path(target: Path, source: Path) -> Path:
    """Where a restore into ``target`` puts the backed-up absolute path ``source``."""
    return target / str(source).lstrip("/")


def user_xattrs_supported(path: Path) -> bool:
    probe = path / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.cadang-probe", b"1")
    except OSError:
        return False
    finally:
        probe.unlink()
    return True


def tree_listing(root: Path) -> dict[bytes, tuple[str, bytes]]:
    """Relative path -> (kind, content or link target) of everything under root."""
    out: dict[bytes, tuple[str, bytes]] = {}
    raw_root = os.fsencode(root)
    for dirpath, dirnames, files in os.walk(raw_root):
        for name in dirnames + files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, raw_root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", b"")
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    out[rel] = ("file", f.read())
            else:
                out[rel] = ("other", b"")
    return out


# --- the command line ---------------------------------------------------------------------


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Environment for CLI tests: a passphrase, cheap Argon2, English messages.

    Returns a copy of the environment for subprocesses; the current process is patched too
    (and the translation reset), so in-process calls through ``cli`` see the same.
    """
    monkeypatch.setenv("CADANG_PASSWORD", TEST_PASSWORD)
    monkeypatch.setenv("CADANG_KDF_MEMORY_KIB", "8")
    monkeypatch.setenv("CADANG_LANG", "en")
    monkeypatch.delenv("CADANG_REPOSITORY", raising=False)
    monkeypatch.delenv("CADANG_PASSWORD_FILE", raising=False)
    monkeypatch.setattr(i18n, "_translation", None)
    return dict(os.environ)


@pytest.fixture
def cli(cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``cadang ARGS`` in this process; returns exit code, stdout and stderr."""
    from cadang.cli.main import main

    def run(*args: str | os.PathLike[str]) -> CliResult:
        capsys.readouterr()  # drop anything printed before
        code = main([os.fspath(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_cadang(
    *args: str | os.PathLike[str],
    env: dict[str, str],
    input: bytes | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m cadang ARGS`` in a subprocess (stdin from ``input`` or /dev/null)."""
    return subprocess.run(
        [sys.executable, "-m", "cadang", *(os.fspath(a) for a in args)],
        env=env,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


# --- a repository to damage (check, corruption and restore-after-damage tests) --------------


@dataclass
class CheckRepo:
    """Two snapshots of one source tree that share most of their data.

    Snapshot 1 has small.txt, big.bin (3 MiB, several chunks in several 1 MiB packs),
    empty, sub/text.txt and sub/deep/mid.bin; snapshot 2 changes small.txt and adds new.txt,
    sharing everything else. There are two key files with the same passphrase, so one can be
    damaged and the repository still opens.
    """

    path: Path  # the repository
    src: Path  # the backed-up directory, as of snapshot 2
    snapshots: list[str]  # [snapshot 1, snapshot 2]
    contents: dict[str, dict[str, bytes]]  # snapshot id -> absolute path -> file content
    template: Path  # the undamaged original of ``path``; never modify it

    def files(self, ftype: object) -> list[Path]:
        """The stored files of one FileType, sorted by name."""
        from cadang.backends import FileType

        assert isinstance(ftype, FileType)
        if ftype is FileType.CONFIG:
            return [self.path / "config"]
        base = self.path / ftype.value
        found = base.glob("*/*") if ftype is FileType.PACK else base.glob("*")
        return sorted((p for p in found if p.is_file()), key=lambda p: p.name)


def flip_byte(path: Path, offset: int, mask: int = 0xFF) -> None:
    """XOR one byte of a file in place (doing it twice restores the file)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        assert len(b) == 1, f"offset {offset} is beyond the end of {path}"
        f.seek(offset)
        f.write(bytes([b[0] ^ mask]))


def truncate_file(path: Path, keep: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(keep)


def _build_check_template(root: Path) -> CheckRepo:
    import random

    from cadang.repo import keys
    from cadang.repo.archiver import Archiver, BackupOptions
    from cadang.repo.config import RepoConfig

    rnd = random.Random(20240601)
    src = root / "src"
    make_tree(
        src,
        {
            "small.txt": "hello\n",
            "big.bin": rnd.randbytes(3 * 1024 * 1024 + 4321),
            "empty": b"",
            "sub": {
                "text.txt": "INSERT INTO t VALUES (1, 'x');\n" * 4000,
                "deep": {"mid.bin": rnd.randbytes(700_000)},
            },
        },
    )
    path = root / "repo"
    backend = LocalBackend(str(path))
    repo = Repository.init(backend, TEST_PASSWORD, TEST_KDF, RepoConfig(pack_size=1024 * 1024))
    try:
        keys.add_key(backend, repo.master, repo.config.id, TEST_PASSWORD, TEST_KDF, "second")
        snap1, _ = Archiver(repo).backup(BackupOptions(paths=[str(src)]))
        contents1 = {str(p): p.read_bytes() for p in src.rglob("*") if p.is_file()}
        (src / "small.txt").write_text("changed, and longer\n")
        (src / "new.txt").write_bytes(rnd.randbytes(5000))
        snap2, _ = Archiver(repo).backup(BackupOptions(paths=[str(src)]))
        contents2 = {str(p): p.read_bytes() for p in src.rglob("*") if p.is_file()}
    finally:
        repo.close()
    return CheckRepo(
        path=path,
        src=src,
        snapshots=[snap1.id, snap2.id],
        contents={snap1.id: contents1, snap2.id: contents2},
        template=path,
    )


@pytest.fixture(scope="session")
def check_template(tmp_path_factory: pytest.TempPathFactory) -> CheckRepo:
    return _build_check_template(tmp_path_factory.mktemp("check-template"))


@pytest.fixture
def check_repo(check_template: CheckRepo, tmp_path: Path) -> CheckRepo:
    """A private copy of the two-snapshot repository, free to damage."""
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(check_template.path, copy)
    return CheckRepo(
        path=copy,
        src=check_template.src,
        snapshots=check_template.snapshots,
        contents=check_template.contents,
        template=check_template.path,
    )


def index_layout(path: Path) -> dict[str, dict[str, list[PackedBlob]]]:
    """Index file name -> pack -> its PackedBlob entries, read with the engine's index code."""
    from cadang.backends import FileType

    repo = Repository.open(LocalBackend(str(path)), TEST_PASSWORD, load_index=False)
    try:
        return {name: repo.load_index_file(name) for name in repo.list_files(FileType.INDEX)}
    finally:
        repo.close()


def expected_affected(path: Path, lost: set[bytes]) -> dict[str, list[str]]:
    """What a restore of each snapshot loses when the blobs ``lost`` cannot be read.

    Walked independently of the checker over the undamaged repository at ``path``: a file is
    lost when any of its chunks is; a directory whose tree is lost is shown as 'path/' and
    nothing below it is listed. Snapshots that lose nothing are left out.
    """
    from cadang.repo.snapshot import load_all
    from cadang.repo.tree import NodeType
    from cadang.repo.walker import load_tree

    repo = reopen(path)
    out: dict[str, list[str]] = {}
    try:

        def visit(tree_id: bytes, prefix: str, acc: list[str]) -> None:
            if tree_id in lost:
                acc.append(prefix + "/")
                return
            for node in load_tree(repo, tree_id):
                p = prefix + "/" + node.name.decode("utf-8", "backslashreplace")
                if node.type is NodeType.FILE and any(c in lost for c in node.content):
                    acc.append(p)
                elif node.type is NodeType.DIR and node.subtree is not None:
                    visit(node.subtree, p, acc)

        for snap in load_all(repo):
            acc: list[str] = []
            visit(snap.tree, "", acc)
            if acc:
                out[snap.id] = sorted(acc)
    finally:
        repo.close()
    return out


# --- a tree with every kind of entry (browse/export tests) ----------------------------------

NON_UTF8_NAME = b"caf\xe9"
FIXED_MTIME_NS = 1_700_000_000_123_456_789  # a fraction of a second, to test precision


@dataclass
class EveryKind:
    """What :func:`every_kind_tree` made; the optional parts depend on the machine."""

    root: Path
    big: bytes
    has_xattr: bool
    has_device: bool


def every_kind_tree(root: Path, seed: int = 7) -> EveryKind:
    """A regular file, a multi-chunk file (> 2 MiB random), an empty file, a symlink, a
    hard-link pair, a FIFO, a file named ``caf\\xe9`` (not UTF-8), a file with a user.*
    xattr (when the filesystem allows it), a character device (as root), nested dirs.
    """
    import random

    big = random.Random(seed).randbytes(3 * 1024 * 1024 + 4321)
    make_tree(
        root,
        {
            "regular.txt": b"hello, world\n",
            "big.bin": big,
            "empty": b"",
            "link": Symlink("regular.txt"),
            "hard1": b"linked content\n",
            "fifo": Fifo(),
            os.fsdecode(NON_UTF8_NAME): b"non-utf8 name\n",
            "xattr.txt": b"has an attribute\n",
            "nested": {
                "hard2": Hardlink("hard1"),
                "deeper": {"deepest.txt": b"deep down\n"},
            },
        },
    )
    has_xattr = user_xattrs_supported(root)
    if has_xattr:
        os.setxattr(root / "xattr.txt", "user.cadang.note", b"v\xff\x00w")
    has_device = False
    if IS_ROOT:
        try:
            os.mknod(root / "chardev", stat.S_IFCHR | 0o640, os.makedev(1, 3))
            has_device = True
        except OSError:
            pass
    os.chmod(root / "regular.txt", 0o640)
    os.utime(root / "regular.txt", ns=(FIXED_MTIME_NS, FIXED_MTIME_NS))
    return EveryKind(root, big, has_xattr, has_device)


# --- comparing trees ----------------------------------------------------------------------


def user_xattrs(path: bytes) -> dict[bytes, bytes]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    return {
        os.fsencode(n): os.getxattr(path, n, follow_symlinks=False)
        for n in names
        if n.startswith("user.")
    }


def assert_trees_equal(
    src: Path | bytes, dst: Path | bytes, owners: bool = True, times: bool = True
) -> int:
    """Compare two trees entry by entry; return the number of entries compared.

    Type, content, mode (not for symlinks), mtime_ns, uid/gid, link targets, device numbers,
    user.* xattrs, and hard-link identity (entries sharing an inode in src share one in dst).
    ``src`` itself is compared too.
    """
    src_b, dst_b = os.fsencode(src), os.fsencode(dst)
    inode_map: dict[int, int] = {}
    count = 0

    def compare(rel: bytes) -> None:
        nonlocal count
        a = os.path.join(src_b, rel) if rel else src_b
        b = os.path.join(dst_b, rel) if rel else dst_b
        shown = rel.decode("utf-8", "backslashreplace") or "."
        assert os.path.lexists(b), f"{shown}: missing in restore"
        sa, sb = os.lstat(a), os.lstat(b)
        count += 1
        assert stat.S_IFMT(sa.st_mode) == stat.S_IFMT(sb.st_mode), f"{shown}: type differs"
        if not stat.S_ISLNK(sa.st_mode):
            assert oct(stat.S_IMODE(sa.st_mode)) == oct(stat.S_IMODE(sb.st_mode)), (
                f"{shown}: mode differs"
            )
        if times:
            assert sa.st_mtime_ns == sb.st_mtime_ns, f"{shown}: mtime differs"
        if owners:
            assert (sa.st_uid, sa.st_gid) == (sb.st_uid, sb.st_gid), f"{shown}: owner differs"
        if stat.S_ISREG(sa.st_mode) or stat.S_ISDIR(sa.st_mode):
            assert user_xattrs(a) == user_xattrs(b), f"{shown}: xattrs differ"
        if stat.S_ISREG(sa.st_mode):
            with open(a, "rb") as fa, open(b, "rb") as fb:
                assert fa.read() == fb.read(), f"{shown}: content differs"
            if sa.st_nlink > 1:
                known = inode_map.setdefault(sa.st_ino, sb.st_ino)
                assert known == sb.st_ino, f"{shown}: hard link not kept"
        elif stat.S_ISLNK(sa.st_mode):
            assert os.readlink(a) == os.readlink(b), f"{shown}: link target differs"
        elif stat.S_ISCHR(sa.st_mode) or stat.S_ISBLK(sa.st_mode):
            assert sa.st_rdev == sb.st_rdev, f"{shown}: device number differs"
        elif stat.S_ISDIR(sa.st_mode):
            names_a, names_b = sorted(os.listdir(a)), sorted(os.listdir(b))
            assert names_a == names_b, f"{shown}: entries differ"
            for name in names_a:
                compare(os.path.join(rel, name) if rel else name)

    compare(b"")
    # Distinct inodes stay distinct: no two hard-link groups were merged.
    assert len(set(inode_map.values())) == len(inode_map)
    return count


# --- an office with a plan (plan layer: run, history, restore) -------------------------------


@dataclass
class Office:
    """A small office in tmp_path: a repository, files, a SQLite database and a plan.

    ``plan`` is a dict (written as JSON, which is YAML) that tests may change before
    ``write()``; ``load()`` reads it back through the real loader.
    """

    root: Path
    repo: Path  # the main repository (initialised)
    password_file: Path
    code: Path  # files of application siak
    db: Path  # SQLite database of application siak
    docs: Path  # files of application arsip
    plan: dict[str, object]

    @property
    def plan_file(self) -> Path:
        return self.root / "cadang.yaml"

    def write(self) -> Path:
        import json

        self.plan_file.write_text(json.dumps(self.plan, indent=2))
        return self.plan_file

    def load(self) -> object:
        from cadang.plan.loader import load_plan

        return load_plan(self.write())

    def apps(self) -> list[dict[str, object]]:
        apps = self.plan["applications"]
        assert isinstance(apps, list)
        return apps

    def add_repository(self, name: str, path: Path, init: bool = True) -> Path:
        """Another repository (e.g. the external disk) with the same passphrase file."""
        if init:
            Repository.init(LocalBackend(str(path)), TEST_PASSWORD, TEST_KDF).close()
        repos = self.plan["repositories"]
        assert isinstance(repos, dict)
        repos[name] = {"path": str(path), "password_file": str(self.password_file)}
        return path


def make_sqlite(path: Path, rows: int, table: str = "penduduk") -> None:
    import sqlite3

    con = sqlite3.connect(path)
    try:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (nik TEXT PRIMARY KEY, nama TEXT, lahir DATE)"
        )
        con.executemany(
            f"INSERT INTO {table} VALUES (?, ?, ?)",
            [
                (f"5108{i:012d}", f"Warga ke-{i} Ñusa", f"19{50 + i % 50}-01-01")
                for i in range(rows)
            ],
        )
        con.commit()
    finally:
        con.close()


def sqlite_rows(path: Path | str, table: str = "penduduk") -> list[tuple[object, ...]]:
    import sqlite3

    con = sqlite3.connect(path)
    try:
        return list(con.execute(f"SELECT * FROM {table} ORDER BY nik"))
    finally:
        con.close()


@pytest.fixture
def office(tmp_path: Path) -> Office:
    root = tmp_path / "office"
    root.mkdir()
    password_file = root / "passphrase"
    password_file.write_text(TEST_PASSWORD + "\n")
    repo = root / "repo"
    Repository.init(LocalBackend(str(repo)), TEST_PASSWORD, TEST_KDF).close()
    code = make_tree(
        root / "srv" / "siak",
        {"index.php": "<?php echo 'siak';\n", "config": {"app.conf": "db=siak.db\n"}},
    )
    docs = make_tree(root / "srv" / "arsip", {"surat-001.txt": "Surat edaran\n"})
    db = root / "srv" / "siak.db"
    make_sqlite(db, 50)
    plan: dict[str, object] = {
        "organization": {"name": "Dinas Uji Coba", "code": "dinas-uji"},
        "repositories": {"main": {"path": str(repo), "password_file": str(password_file)}},
        "naming": {"template": "{org}-{app}-{source}-{time:%Y%m%d-%H%M}"},
        "retention": {  # keeps every snapshot a test makes unless the test says otherwise
            "daily": {"keep_last": 50},
            "weekly": {"keep_last": 50},
            "monthly": {"keep_last": 50},
        },
        "applications": [
            {
                "name": "siak",
                "owner": "Bidang PIAK",
                "priority": "daily",
                "classification": "confidential",
                "sources": [
                    {"type": "files", "name": "code", "paths": [str(code)]},
                    {"type": "sqlite", "name": "db", "path": str(db)},
                ],
            },
            {
                "name": "arsip",
                "owner": "Sekretariat",
                "priority": "weekly",
                "classification": "internal",
                "sources": [{"type": "files", "name": "docs", "paths": [str(docs)]}],
            },
        ],
    }
    return Office(root, repo, password_file, code, db, docs, plan)


# --- real database services (sources tests and the plan layer) ------------------------------

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
MARIADB_HOST, MARIADB_PORT, MARIADB_USER = "127.0.0.1", 3306, "root"


def _service_problem(name: str, port: int, check: list[str], package: str) -> str | None:
    """Why a service cannot be used (None: it answers), for a skip or CI failure message."""
    import shutil

    if shutil.which(check[0]) is None:
        return f"{name} client tool {check[0]} is not installed (Debian package {package})"
    try:
        done = subprocess.run(check, capture_output=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return f"{name} on 127.0.0.1:{port} did not answer within 20 s"
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"{name} on 127.0.0.1:{port} is not usable: {err[-1] if err else done.returncode}"
    return None


_service_cache: dict[str, str | None] = {}


def _require(key: str, problem: Callable[[], str | None]) -> None:
    if key not in _service_cache:
        _service_cache[key] = problem()
    reason = _service_cache[key]
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the service must be there)")
    pytest.skip(reason)


def require_postgres() -> None:
    """Skip (or fail under CI=true) unless PostgreSQL answers on 127.0.0.1:5432, trust auth."""
    check = ["psql", "-X", "-w", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER]
    _require(
        "postgres",
        lambda: _service_problem(
            "PostgreSQL",
            PG_PORT,
            [*check, "-d", "postgres", "-Atc", "select 1"],
            "postgresql-client",
        ),
    )


def require_mariadb() -> None:
    """Skip (or fail under CI=true) unless MariaDB answers on 127.0.0.1:3306 as root."""
    check = ["mariadb", f"--host={MARIADB_HOST}", f"--port={MARIADB_PORT}", "--user=root"]
    _require(
        "mariadb",
        lambda: _service_problem(
            "MariaDB", MARIADB_PORT, [*check, "-e", "select 1"], "mariadb-client"
        ),
    )


# --- the state directory and ClamAV (checks) ---------------------------------------------------


@pytest.fixture(autouse=True)
def _private_state_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Each test records checks and runs in its own state directory, never in
    /var/lib/cadang or ~/.local/state (CADANG_STATE_DIR, inherited by subprocesses)."""
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("CADANG_STATE_DIR", str(path))
    return path


def require_clamav() -> None:
    """Skip (or fail under CI=true) unless ClamAV's clamscan is installed."""
    import shutil

    _require(
        "clamav",
        lambda: (
            None
            if shutil.which("clamscan")
            else "ClamAV is not installed (clamscan not found; Debian package clamav)"
        ),
    )


def require_clamd() -> None:
    """Skip (or fail under CI=true) unless clamd is installed (Debian clamav-daemon)."""
    import shutil

    _require(
        "clamd",
        lambda: (
            None
            if shutil.which("clamd") or os.path.exists("/usr/sbin/clamd")
            else "clamd is not installed (Debian package clamav-daemon)"
        ),
    )
