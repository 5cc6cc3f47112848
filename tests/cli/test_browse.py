"""cadang ls, diff, find, dump and export at the command line."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import NON_UTF8_NAME, CliResult, EveryKind, every_kind_tree, run_cadang

from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot

Cli = Callable[..., CliResult]
ESCAPED = "caf\\xe9"  # how NON_UTF8_NAME is shown


@pytest.fixture
def tree(tmp_path: Path) -> EveryKind:
    return every_kind_tree(tmp_path / "src")


def backup(repo: Repository, src: Path, label: str = "") -> Snapshot:
    snap, summary = Archiver(repo).backup(BackupOptions(paths=[str(src)], label=label))
    assert not summary.errors
    return snap


@pytest.fixture
def first(repo: Repository, tree: EveryKind) -> Snapshot:
    return backup(repo, tree.root, label="pertama")


@pytest.fixture
def second(repo: Repository, tree: EveryKind, first: Snapshot) -> Snapshot:
    src = tree.root
    keep = os.lstat(src).st_mtime_ns
    (src / "added.txt").write_bytes(b"added later\n")
    (src / "empty").unlink()
    (src / "hard1").write_bytes(b"changed content of the hard-link pair\n")
    os.chmod(src / "big.bin", 0o600)
    os.utime(src, ns=(keep, keep))
    return backup(repo, src, label="kedua")


@pytest.fixture
def bincli(
    cli_env: dict[str, str], capsysbinary: pytest.CaptureFixture[bytes]
) -> Callable[..., tuple[int, bytes, bytes]]:
    """Like ``cli`` but stdout as bytes (for dump and export to '-')."""
    from cadang.cli.main import main

    def run(*args: str | os.PathLike[str]) -> tuple[int, bytes, bytes]:
        capsysbinary.readouterr()
        code = main([os.fspath(a) for a in args])
        captured = capsysbinary.readouterr()
        return code, captured.out, captured.err

    return run


def under(src: Path, lines: list[str]) -> list[str]:
    """The lines about entries below src, with src cut off the front."""
    prefix = str(src)
    rest = [line.split(prefix, 1)[1] for line in lines if prefix + "/" in line]
    return [r for r in rest if r != "/"]  # not src itself


# --- ls -----------------------------------------------------------------------------------


def test_ls_lists_every_entry_recursively(
    cli: Cli, repo_path: Path, tree: EveryKind, first: Snapshot
) -> None:
    r = cli("ls", "--repo", repo_path, "latest")
    assert r.code == 0, r.err
    got = set(under(tree.root, r.out.splitlines()))
    want = {
        "/regular.txt",
        "/big.bin",
        "/empty",
        "/link",
        "/hard1",
        "/fifo",
        "/" + ESCAPED,
        "/xattr.txt",
        "/nested/",
        "/nested/hard2",
        "/nested/deeper/",
        "/nested/deeper/deepest.txt",
    }
    if tree.has_device:
        want.add("/chardev")
    assert got == want


def test_ls_long_shows_mode_owner_size_and_mtime(
    cli: Cli, repo_path: Path, tree: EveryKind, first: Snapshot
) -> None:
    r = cli("ls", "--repo", repo_path, first.id[:8], str(tree.root), "-l")
    assert r.code == 0, r.err
    by_path = {line.rsplit(" ", 1)[-1]: line.split() for line in r.out.splitlines()}
    big = by_path[str(tree.root / "big.bin")]
    assert big[0] == "-rw-r--r--" and int(big[2]) == len(tree.big)
    regular = by_path[str(tree.root / "regular.txt")]
    assert regular[0] == "-rw-r-----" and int(regular[2]) == len(b"hello, world\n")
    assert regular[1] == f"{tree.root.owner()}/{tree.root.group()}"
    assert regular[3] in ("2023-11-14", "2023-11-15")  # 1_700_000_000 in any time zone
    assert int(by_path[str(tree.root / "empty")][2]) == 0
    assert by_path[str(tree.root / "nested") + "/"][0].startswith("d")
    assert by_path[str(tree.root / "fifo")][0].startswith("p")
    link_line = next(line for line in r.out.splitlines() if "/link -> " in line)
    assert link_line.startswith("l") and link_line.endswith("-> regular.txt")


def test_ls_json_parses_with_escaped_names(
    cli: Cli, repo_path: Path, tree: EveryKind, first: Snapshot
) -> None:
    r = cli("ls", "--repo", repo_path, "pertama", str(tree.root), "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["snapshot"] == first.id
    nodes = {n["path"][len(str(tree.root)) :]: n for n in doc["nodes"]}
    assert nodes["/big.bin"]["size"] == len(tree.big)
    assert nodes["/big.bin"]["type"] == "file"
    assert nodes["/" + ESCAPED]["size"] == len(b"non-utf8 name\n")
    assert nodes["/link"]["target"] == "regular.txt"
    assert nodes["/nested"]["type"] == "dir"
    assert nodes["/regular.txt"]["mtime_ns"] == 1_700_000_000_123_456_789
    assert nodes["/regular.txt"]["mode"] == 0o640


def test_ls_no_recursive_and_single_entries(
    cli: Cli, repo_path: Path, tree: EveryKind, first: Snapshot
) -> None:
    r = cli("ls", "--repo", repo_path, "latest", str(tree.root / "nested"), "--no-recursive")
    assert r.code == 0, r.err
    assert under(tree.root, r.out.splitlines()) == ["/nested/deeper/", "/nested/hard2"]
    # a file as PATH lists that one entry; the escaped form of a name can be typed
    r = cli("ls", "--repo", repo_path, "latest", f"{tree.root}/{ESCAPED}")
    assert r.code == 0, r.err
    assert under(tree.root, r.out.splitlines()) == ["/" + ESCAPED]
    # and so can the raw name (as the shell passes it)
    r = cli(
        "ls",
        "--repo",
        repo_path,
        "latest",
        os.fsdecode(os.fsencode(tree.root) + b"/" + NON_UTF8_NAME),
    )
    assert r.code == 0, r.err
    assert under(tree.root, r.out.splitlines()) == ["/" + ESCAPED]


def test_unknown_snapshot_and_missing_path_are_clear_errors(
    cli: Cli, repo_path: Path, tree: EveryKind, first: Snapshot
) -> None:
    for command in (
        ["ls", "deadbeef", str(tree.root)],
        ["dump", "deadbeef", str(tree.root)],
        ["export", "deadbeef", "--tar", "-"],
    ):
        r = cli(*command, "--repo", repo_path)
        assert r.code == 1, (command, r.err)
        assert "no snapshot matches 'deadbeef'" in r.err
        assert "Traceback" not in r.err
    r = cli("ls", "--repo", repo_path, "latest", str(tree.root / "not-there"))
    assert r.code == 1
    assert f"{tree.root}/not-there is not in snapshot {first.short_id}" in r.err
    r = cli("diff", "--repo", repo_path, "latest", "nope")
    assert r.code == 1 and "no snapshot matches 'nope'" in r.err
    r = cli("find", "--repo", repo_path, "*", "--snapshot", "nope")
    assert r.code == 1 and "no snapshot matches 'nope'" in r.err


# --- diff ---------------------------------------------------------------------------------


def test_diff_text_and_json(
    cli: Cli, repo_path: Path, tree: EveryKind, first: Snapshot, second: Snapshot
) -> None:
    r = cli("diff", "--repo", repo_path, "pertama", "kedua")
    assert r.code == 0, r.err
    changes = {
        (line[:4].strip(), line[5:].split(str(tree.root), 1)[1])
        for line in r.out.splitlines()
        if str(tree.root) + "/" in line
    }
    assert changes == {
        ("+", "/added.txt"),
        ("-", "/empty"),
        ("M", "/hard1"),
        ("M", "/nested/hard2"),
        ("U", "/big.bin"),
    }
    assert "Files:        1 new, 1 removed, 3 changed" in r.out

    r = cli("diff", "--repo", repo_path, first.id[:10], "latest", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert (doc["snapshot1"], doc["snapshot2"]) == (first.id, second.id)
    got = {
        (c["change"], c["path"][len(str(tree.root)) :])
        for c in doc["changes"]
        if c["path"].startswith(str(tree.root) + "/")
    }
    assert got == changes
    stats = doc["stats"]
    assert (stats["files_added"], stats["files_removed"], stats["files_changed"]) == (1, 1, 3)
    assert stats["bytes_added"] == len(b"added later\n") + len(
        b"changed content of the hard-link pair\n"
    )


# --- find ---------------------------------------------------------------------------------


def test_find_across_snapshots(
    cli: Cli, repo_path: Path, tree: EveryKind, first: Snapshot, second: Snapshot
) -> None:
    r = cli("find", "--repo", repo_path, "*.txt")
    assert r.code == 0, r.err
    rows = [line.split() for line in r.out.splitlines() if str(tree.root) + "/" in line]
    found = {(row[0], row[-1][len(str(tree.root)) :]) for row in rows}
    assert (first.short_id, "/regular.txt") in found
    assert (second.short_id, "/added.txt") in found
    assert (first.short_id, "/added.txt") not in found
    regular = next(row for row in rows if row[-1].endswith("/regular.txt"))
    assert int(regular[3]) == len(b"hello, world\n")

    r = cli("find", "--repo", repo_path, "caf*", "--snapshot", "kedua", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert [(m["snapshot"], m["path"]) for m in doc] == [(second.id, f"{tree.root}/{ESCAPED}")]
    assert doc[0]["size"] == len(b"non-utf8 name\n")

    r = cli("find", "--repo", repo_path, "no-such-name-anywhere")
    assert r.code == 0 and "0 match(es)" in r.out


# --- dump ---------------------------------------------------------------------------------


def test_dump_streams_a_file_byte_for_byte(
    bincli: Callable[..., tuple[int, bytes, bytes]],
    repo_path: Path,
    tree: EveryKind,
    first: Snapshot,
) -> None:
    code, out, err = bincli("dump", "--repo", repo_path, "latest", str(tree.root / "big.bin"))
    assert code == 0, err
    assert out == tree.big
    code, out, err = bincli("dump", "--repo", repo_path, "latest", f"{tree.root}/{ESCAPED}")
    assert code == 0, err
    assert out == b"non-utf8 name\n"
    code, out, err = bincli("dump", "--repo", repo_path, "latest", str(tree.root / "empty"))
    assert (code, out) == (0, b"")


def test_dump_of_a_directory_is_a_tar(
    bincli: Callable[..., tuple[int, bytes, bytes]],
    repo_path: Path,
    tree: EveryKind,
    first: Snapshot,
) -> None:
    code, out, err = bincli("dump", "--repo", repo_path, "latest", str(tree.root / "nested"))
    assert code == 0, err
    with tarfile.open(fileobj=io.BytesIO(out)) as tf:
        assert sorted(tf.getnames()) == [
            "nested",
            "nested/deeper",
            "nested/deeper/deepest.txt",
            "nested/hard2",
        ]


def test_dump_errors(
    bincli: Callable[..., tuple[int, bytes, bytes]],
    repo_path: Path,
    tree: EveryKind,
    first: Snapshot,
) -> None:
    code, out, err = bincli("dump", "--repo", repo_path, "latest", str(tree.root / "missing"))
    assert code == 1 and out == b""
    assert b"is not in snapshot" in err
    code, out, err = bincli("dump", "--repo", repo_path, "latest", str(tree.root / "fifo"))
    assert code == 2 and b"fifo" in err


# --- export -------------------------------------------------------------------------------


def test_export_to_a_file(
    cli: Cli, repo_path: Path, tree: EveryKind, first: Snapshot, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "snap.tar"
    target.parent.mkdir()
    r = cli("export", "--repo", repo_path, "pertama", "--tar", target)
    assert r.code == 0, r.err
    assert "exported snapshot" in r.err
    assert [p.name for p in target.parent.iterdir()] == ["snap.tar"]  # no temporary left
    base = str(tree.root).lstrip("/")
    with tarfile.open(target, encoding="utf-8", errors="surrogateescape") as tf:
        member = tf.getmember(f"{base}/big.bin")
        f = tf.extractfile(member)
        assert f is not None and f.read() == tree.big
        assert tf.getmember(f"{base}/nested/hard2").islnk()
    if shutil.which("tar"):
        listing = subprocess.run(
            ["tar", "--warning=no-unknown-keyword", "--quoting-style=literal", "-tf", target],
            capture_output=True,
            check=True,
        ).stdout.splitlines()
        assert os.fsencode(tree.root / "nested" / "deeper" / "deepest.txt").lstrip(b"/") in listing


def test_export_to_stdout_with_include(
    bincli: Callable[..., tuple[int, bytes, bytes]],
    repo_path: Path,
    tree: EveryKind,
    first: Snapshot,
) -> None:
    code, out, err = bincli(
        "export",
        "--repo",
        repo_path,
        "latest",
        "--tar",
        "-",
        "--include",
        str(tree.root / "nested"),
        "-q",
    )
    assert code == 0, err
    assert err == b""
    base = str(tree.root).lstrip("/")
    with tarfile.open(fileobj=io.BytesIO(out)) as tf:
        names = set(tf.getnames())
    assert f"{base}/nested/deeper/deepest.txt" in names
    assert f"{base}/big.bin" not in names


def test_export_refuses_a_missing_include_and_a_bad_target(
    cli: Cli, repo_path: Path, tree: EveryKind, first: Snapshot, tmp_path: Path
) -> None:
    r = cli(
        "export", "--repo", repo_path, "latest", "--tar", tmp_path / "x.tar", "--include", "/nope"
    )
    assert r.code == 1 and "/nope is not in snapshot" in r.err
    assert not (tmp_path / "x.tar").exists()
    r = cli("export", "--repo", repo_path, "latest", "--tar", tmp_path / "no" / "dir" / "x.tar")
    assert r.code == 2 and "does not exist" in r.err


@pytest.mark.slow
def test_dump_through_a_real_pipe(
    cli_env: dict[str, str], repo_path: Path, tree: EveryKind, first: Snapshot
) -> None:
    env = {**cli_env, "CADANG_REPOSITORY": str(repo_path)}
    result = run_cadang("dump", "latest", str(tree.root / "big.bin"), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == tree.big
    result = run_cadang("export", "latest", "--tar", "-", "-q", env=env)
    assert result.returncode == 0, result.stderr
    with tarfile.open(
        fileobj=io.BytesIO(result.stdout), encoding="utf-8", errors="surrogateescape"
    ) as tf:
        f = tf.extractfile(str(tree.root / "big.bin").lstrip("/"))
        assert f is not None and f.read() == tree.big
