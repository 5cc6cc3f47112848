"""The core commands: init, backup, snapshots, restore; environment, help, exit codes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TEST_PASSWORD, CliResult, make_tree, restored_path, run_cadang

from cadang.cli.main import COMMANDS

Cli = Callable[..., CliResult]


@pytest.fixture
def repo_dir(tmp_path: Path, cli: Cli) -> Path:
    path = tmp_path / "repo"
    r = cli("init", "--repo", path)
    assert r.code == 0, r.err
    return path


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "src", {"a.txt": b"alpha", "d": {"b.bin": os.urandom(3000)}})


# --- help and usage --------------------------------------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_help_of_every_command(cli: Cli, name: str) -> None:
    r = cli(name, "--help")
    assert r.code == 0, r.err
    assert "Usage:" in r.out and name in r.out


def test_top_level_help_and_version(cli: Cli) -> None:
    r = cli("--help")
    assert r.code == 0
    for name in COMMANDS:
        assert name in r.out
    r = cli("--version")
    assert r.code == 0 and "cadang" in r.out


def test_unknown_command_and_option(cli: Cli) -> None:
    assert cli("frobnicate").code == 2
    r = cli("backup", "--no-such-option")
    assert r.code == 2 and "no-such-option" in r.err


def test_no_repository_given(cli: Cli, src: Path) -> None:
    r = cli("backup", src)
    assert r.code == 2
    assert "no repository given" in r.err and "CADANG_REPOSITORY" in r.err


# --- init ------------------------------------------------------------------------------------


def test_init(cli: Cli, tmp_path: Path) -> None:
    r = cli("init", "--repo", tmp_path / "r")
    assert r.code == 0, r.err
    assert "created repository" in r.out
    assert (tmp_path / "r" / "config").is_file()
    r = cli("init", "--repo", tmp_path / "r2", "--json")
    doc = json.loads(r.out)
    assert doc["location"] == str(tmp_path / "r2") and len(doc["id"]) == 64


def test_init_refuses_an_existing_repository(cli: Cli, repo_dir: Path) -> None:
    config = (repo_dir / "config").read_bytes()
    keys = sorted(os.listdir(repo_dir / "keys"))
    r = cli("init", "--repo", repo_dir)
    assert r.code != 0
    assert "already exists" in r.err and str(repo_dir) in r.err
    assert (repo_dir / "config").read_bytes() == config
    assert sorted(os.listdir(repo_dir / "keys")) == keys


def test_init_refuses_an_empty_passphrase(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADANG_PASSWORD", "")
    r = cli("init", "--repo", tmp_path / "r")
    assert r.code == 2 and "empty passphrase" in r.err
    assert not (tmp_path / "r" / "config").exists()


def test_init_on_a_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    r = cli("init", "--repo", tmp_path / "f")
    assert r.code != 0 and "not a directory" in r.err


@pytest.mark.slow
def test_no_passphrase_and_no_terminal(
    tmp_path: Path, cli_env: dict[str, str], repo_dir: Path
) -> None:
    env = {k: v for k, v in cli_env.items() if k != "CADANG_PASSWORD"}
    for args in (["init", "--repo", str(tmp_path / "new")], ["snapshots", "--repo", str(repo_dir)]):
        done = run_cadang(*args, env=env)
        assert done.returncode == 2, done.stderr
        err = done.stderr.decode()
        assert "no passphrase given" in err and "CADANG_PASSWORD_FILE" in err
        assert "Traceback" not in err
    assert not (tmp_path / "new").exists() or not (tmp_path / "new" / "config").exists()


# --- opening: environment, passphrases, wrong paths -------------------------------------


def test_environment_variables(
    cli: Cli, repo_dir: Path, src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADANG_REPOSITORY", str(repo_dir))
    assert cli("backup", src).code == 0
    # The passphrase from a file (with the trailing newline editors add) ...
    pw_file = tmp_path / "pw"
    pw_file.write_text(TEST_PASSWORD + "\n")
    monkeypatch.delenv("CADANG_PASSWORD")
    monkeypatch.setenv("CADANG_PASSWORD_FILE", str(pw_file))
    r = cli("snapshots")
    assert r.code == 0 and "1 snapshot(s)" in r.out
    # ... and --password-file wins over the environment.
    wrong = tmp_path / "wrong"
    wrong.write_text("nope\n")
    assert cli("snapshots", "--password-file", wrong).code == 12
    monkeypatch.setenv("CADANG_PASSWORD_FILE", str(tmp_path / "missing"))
    r = cli("snapshots")
    assert r.code == 2 and "cannot read password file" in r.err


def test_wrong_passphrase(cli: Cli, repo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADANG_PASSWORD", "wrong")
    r = cli("snapshots", "--repo", repo_dir)
    assert r.code == 12
    assert "wrong passphrase" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("kind", ["missing", "empty dir", "file"])
def test_not_a_repository(cli: Cli, tmp_path: Path, kind: str) -> None:
    where = tmp_path / "nothing"
    if kind == "empty dir":
        where.mkdir()
    elif kind == "file":
        where.write_bytes(b"x")
    for args in (["snapshots"], ["backup", str(tmp_path)], ["restore", "latest", "-t", "x"]):
        r = cli(*args, "--repo", where)
        assert r.code == 10, (args, r.err)
        assert "there is no repository" in r.err and "cadang init" in r.err


def test_newer_repository_version(cli: Cli, repo_dir: Path) -> None:
    import hashlib

    body = json.loads((repo_dir / "config").read_bytes())
    body.pop("checksum")
    body["version"] = 99
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    body["checksum"] = hashlib.sha256(canonical.encode()).hexdigest()
    (repo_dir / "config").chmod(0o600)
    (repo_dir / "config").write_text(json.dumps(body))
    r = cli("snapshots", "--repo", repo_dir)
    assert r.code == 1
    assert "format version 99" in r.err and "upgrade" in r.err.lower()


# --- backup, snapshots, restore ------------------------------------------------------------


def test_backup_prints_a_summary(cli: Cli, repo_dir: Path, src: Path) -> None:
    r = cli("backup", "--repo", repo_dir, src)
    assert r.code == 0, r.err
    assert "Files:       2 new, 0 changed, 0 unchanged" in r.out
    assert "Added to the repository:" in r.out
    assert "saved" in r.out
    r = cli("backup", "--repo", repo_dir, src)
    assert "Files:       0 new, 0 changed, 2 unchanged" in r.out


def test_backup_json_and_quiet(cli: Cli, repo_dir: Path, src: Path) -> None:
    r = cli("backup", "--repo", repo_dir, src, "--json", "--tag", "t1", "--label", "first")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["files_new"] == 2 and doc["label"] == "first" and len(doc["snapshot"]) == 64
    assert doc["errors"] == []
    r = cli("backup", "--repo", repo_dir, src, "--quiet")
    assert r.code == 0 and r.out == ""


def test_backup_of_a_missing_path(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    r = cli("backup", "--repo", repo_dir, tmp_path / "missing")
    assert r.code == 2 and "does not exist" in r.err
    r = cli("backup", "--repo", repo_dir)
    assert r.code == 2 and "nothing to back up" in r.err
    assert cli("snapshots", "--repo", repo_dir, "--json").out.strip() == "[]"


def test_snapshots_listing_and_json(cli: Cli, repo_dir: Path, src: Path) -> None:
    assert cli("backup", "--repo", repo_dir, src, "--tag", "harian", "--label", "pagi").code == 0
    assert cli("backup", "--repo", repo_dir, src, "--host", "server-b").code == 0
    r = cli("snapshots", "--repo", repo_dir)
    assert r.code == 0 and "2 snapshot(s)" in r.out and "pagi" in r.out and "server-b" in r.out
    r = cli("snapshots", "--repo", repo_dir, "--json")
    snaps = json.loads(r.out)
    assert [s["label"] for s in snaps] == ["pagi", ""]
    assert snaps[0]["tags"] == ["harian"] and snaps[0]["paths"] == [str(src)]
    assert snaps[1]["hostname"] == "server-b"
    assert snaps[0]["summary"]["files_new"] == 2
    assert all(s["short_id"] == s["id"][:8] for s in snaps)
    only = json.loads(cli("snapshots", "--repo", repo_dir, "--json", "--tag", "harian").out)
    assert [s["id"] for s in only] == [snaps[0]["id"]]
    host = json.loads(cli("snapshots", "--repo", repo_dir, "--json", "--host", "server-b").out)
    assert [s["id"] for s in host] == [snaps[1]["id"]]


def test_restore_by_latest_prefix_and_label(
    cli: Cli, repo_dir: Path, src: Path, tmp_path: Path
) -> None:
    assert cli("backup", "--repo", repo_dir, src, "--label", "v1").code == 0
    (src / "a.txt").write_bytes(b"second version")
    assert cli("backup", "--repo", repo_dir, src, "--label", "v2").code == 0
    snaps = json.loads(cli("snapshots", "--repo", repo_dir, "--json").out)

    def restored(ref: str, name: str) -> bytes:
        r = cli("restore", "--repo", repo_dir, ref, "--target", tmp_path / name)
        assert r.code == 0, r.err
        assert "restored snapshot" in r.out
        return (restored_path(tmp_path / name, src) / "a.txt").read_bytes()

    assert restored("latest", "t1") == b"second version"
    assert restored(snaps[0]["id"][:10], "t2") == b"alpha"
    assert restored("v1", "t3") == b"alpha"
    assert restored("v2", "t4") == b"second version"

    r = cli("restore", "--repo", repo_dir, "nonexistent-label", "--target", tmp_path / "t5")
    assert r.code == 1 and "no snapshot matches" in r.err
    assert not (tmp_path / "t5").exists()


def test_restore_include_and_json(cli: Cli, repo_dir: Path, src: Path, tmp_path: Path) -> None:
    assert cli("backup", "--repo", repo_dir, src).code == 0
    r = cli(
        "restore", "--repo", repo_dir, "latest", "-t", tmp_path / "t", "-i", src / "d", "--json"
    )
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["files"] == 1 and doc["errors"] == []
    out = restored_path(tmp_path / "t", src)
    assert (out / "d" / "b.bin").read_bytes() == (src / "d" / "b.bin").read_bytes()
    assert not (out / "a.txt").exists()
    r = cli("restore", "--repo", repo_dir, "latest", "-t", tmp_path / "t", "-i", src / "zz")
    assert r.code == 1 and "not in snapshot" in r.err


def test_restore_of_an_empty_repository(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    r = cli("restore", "--repo", repo_dir, "latest", "--target", tmp_path / "t")
    assert r.code == 1 and "no snapshots" in r.err
