"""Opening a repository: passphrases, damaged key files, config versions, wrong paths."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from conftest import TEST_PASSWORD

from cadang.backends import FileType
from cadang.backends.local import LocalBackend
from cadang.errors import (
    IntegrityError,
    RepositoryNotFoundError,
    UnsupportedFormatError,
    WrongPasswordError,
)
from cadang.repo import keys
from cadang.repo.config import FORMAT_VERSION, RepoConfig
from cadang.repo.crypto import storage_id
from cadang.repo.keys import TEST_KDF
from cadang.repo.pack import BlobType
from cadang.repo.repository import Repository


def key_files(repo_path: Path) -> list[Path]:
    return sorted((repo_path / "keys").iterdir())


def test_right_passphrase_opens_and_reads(repo: Repository, repo_path: Path) -> None:
    blob_id, _ = repo.save_blob(BlobType.DATA, b"payload")
    repo.flush()
    again = Repository.open(LocalBackend(str(repo_path)), TEST_PASSWORD)
    assert again.config == repo.config
    assert again.master == repo.master
    assert again.key_id == repo.key_id
    assert again.load_blob(blob_id) == b"payload"


def test_wrong_passphrase(repo: Repository, repo_path: Path) -> None:
    with pytest.raises(WrongPasswordError, match="wrong passphrase") as info:
        Repository.open(LocalBackend(str(repo_path)), "not the passphrase")
    assert info.value.exit_code == 12
    assert info.value.hint and "CADANG_PASSWORD" in info.value.hint


def test_second_key_opens_too(repo: Repository, repo_path: Path) -> None:
    keys.add_key(repo.backend, repo.master, repo.config.id, "second person", TEST_KDF)
    backend = LocalBackend(str(repo_path))
    a = Repository.open(backend, TEST_PASSWORD, load_index=False)
    b = Repository.open(backend, "second person", load_index=False)
    assert a.master == b.master
    assert a.key_id != b.key_id


@pytest.mark.parametrize("position", [0, 10, -40, -2])
def test_altered_key_file_is_not_usable(repo: Repository, repo_path: Path, position: int) -> None:
    (key,) = key_files(repo_path)
    data = bytearray(key.read_bytes())
    data[position] ^= 0x01
    key.write_bytes(bytes(data))
    with pytest.raises(WrongPasswordError, match="damaged"):
        Repository.open(LocalBackend(str(repo_path)), TEST_PASSWORD)


def _rewrite_key(repo_path: Path, change: dict[str, object]) -> None:
    """Alter a key file AND rename it to its new hash, as a careful attacker would."""
    (key,) = key_files(repo_path)
    doc = json.loads(key.read_bytes())
    for path, value in change.items():
        target = doc
        *parents, last = path.split(".")
        for p in parents:
            target = target[p]
        target[last] = value
    data = json.dumps(doc).encode()
    key.unlink()
    (key.parent / storage_id(data)).write_bytes(data)


@pytest.mark.parametrize(
    "change",
    [
        {"data": "AAAA" + "B" * 100},  # ciphertext replaced
        {"kdf.salt": "AAAAAAAAAAAAAAAAAAAAAA=="},  # another salt: another key
        {"kdf.time_cost": 2},
        {"kdf.memory_kib": 0},  # argon2 refuses these outright
        {"kdf.salt": "AA=="},
        {"kdf.parallelism": 0},
        {"kdf.memory_kib": 2**40},  # would need a petabyte: refused, not attempted
        {"kdf.algorithm": "rot13"},
        {"version": 7},
        {"kdf": "nonsense"},
    ],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())[:40],
)
def test_rehashed_altered_key_file_is_not_usable(
    repo: Repository, repo_path: Path, change: dict[str, object]
) -> None:
    _rewrite_key(repo_path, change)
    with pytest.raises(WrongPasswordError):
        Repository.open(LocalBackend(str(repo_path)), TEST_PASSWORD)


def test_damaged_key_beside_good_key(repo: Repository, repo_path: Path) -> None:
    bad = repo_path / "keys" / ("0" * 64)
    bad.write_bytes(b"{not json")
    opened = Repository.open(LocalBackend(str(repo_path)), TEST_PASSWORD)
    assert opened.key_id == repo.key_id


def test_key_info(repo: Repository, repo_path: Path) -> None:
    (key,) = key_files(repo_path)
    info = keys.key_info(key.name, key.read_bytes())
    assert info.id == key.name
    assert info.username
    with pytest.raises(IntegrityError):
        keys.key_info("0" * 64, key.read_bytes())


def _rewrite_config(repo_path: Path, **changes: object) -> None:
    """Edit the config and recompute its checksum, as a newer Cadang would write it."""
    cfg = repo_path / "config"
    body = json.loads(cfg.read_bytes())
    body.pop("checksum")
    body.update(changes)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    body["checksum"] = hashlib.sha256(canonical.encode()).hexdigest()
    cfg.chmod(0o600)
    cfg.write_text(json.dumps(body, sort_keys=True, indent=2))


def test_newer_format_version(repo: Repository, repo_path: Path) -> None:
    _rewrite_config(repo_path, version=99)
    with pytest.raises(UnsupportedFormatError) as info:
        Repository.open(LocalBackend(str(repo_path)), TEST_PASSWORD)
    msg = str(info.value)
    assert "99" in msg and str(FORMAT_VERSION) in msg
    assert info.value.hint and "upgrade" in info.value.hint.lower()


def test_not_a_cadang_config(repo: Repository, repo_path: Path) -> None:
    _rewrite_config(repo_path, format="something-else")
    with pytest.raises(UnsupportedFormatError, match="not a Cadang repository"):
        Repository.read_config(LocalBackend(str(repo_path)))


def test_config_damage_is_detected(repo: Repository, repo_path: Path) -> None:
    cfg = repo_path / "config"
    text = cfg.read_text().replace('"pack_size": 16777216', '"pack_size": 16777217')
    assert text != cfg.read_text()
    cfg.chmod(0o600)
    cfg.write_text(text)
    with pytest.raises(IntegrityError, match="checksum"):
        Repository.read_config(LocalBackend(str(repo_path)))
    cfg.write_bytes(b"\x00garbage")
    with pytest.raises(IntegrityError):
        Repository.read_config(LocalBackend(str(repo_path)))


def test_config_roundtrip() -> None:
    cfg = RepoConfig()
    assert RepoConfig.from_bytes(cfg.to_bytes()) == cfg


def test_key_of_another_repository(tmp_path: Path) -> None:
    a = Repository.init(LocalBackend(str(tmp_path / "a")), TEST_PASSWORD, TEST_KDF)
    b = Repository.init(LocalBackend(str(tmp_path / "b")), TEST_PASSWORD, TEST_KDF)
    (b_key,) = key_files(tmp_path / "b")
    for k in key_files(tmp_path / "b"):
        k.unlink()
    (a_key,) = key_files(tmp_path / "a")
    (tmp_path / "b" / "keys" / a_key.name).write_bytes(a_key.read_bytes())
    with pytest.raises(UnsupportedFormatError, match="another repository"):
        Repository.open(LocalBackend(str(tmp_path / "b")), TEST_PASSWORD)
    assert a.config.id != b.config.id and b_key.name != a_key.name


@pytest.mark.parametrize("kind", ["missing", "empty dir", "plain file", "dir with files"])
def test_not_a_repository(tmp_path: Path, kind: str) -> None:
    where = tmp_path / "x"
    if kind == "empty dir":
        where.mkdir()
    elif kind == "plain file":
        where.write_bytes(b"hello")
    elif kind == "dir with files":
        where.mkdir()
        (where / "notes.txt").write_text("not a repo")
    with pytest.raises(RepositoryNotFoundError) as info:
        Repository.open(LocalBackend(str(where)), TEST_PASSWORD)
    assert info.value.exit_code == 10
    assert str(where) in str(info.value)


def test_no_key_files(repo: Repository, repo_path: Path) -> None:
    for k in key_files(repo_path):
        k.unlink()
    from cadang.errors import KeyManagementError

    with pytest.raises(KeyManagementError, match="no key"):
        Repository.open(LocalBackend(str(repo_path)), TEST_PASSWORD)


def test_key_file_listing_ignores_other_types(repo: Repository) -> None:
    assert [n for n, _ in repo.backend.list(FileType.KEY)] == [repo.key_id]


def test_init_retried_after_it_failed_before_the_config(tmp_path: Path) -> None:
    """An init that died after writing its key (disk full, power cut) leaves a stray key
    for the same passphrase; the next init's repository must still open."""
    from cadang.errors import StorageFullError
    from cadang.repo.crypto import MasterKey

    class NoConfigDisk(LocalBackend):
        def save(self, ftype: FileType, name: str, data: bytes) -> None:
            if ftype is FileType.CONFIG:
                raise StorageFullError("no space left while writing config")
            super().save(ftype, name, data)

    where = str(tmp_path / "repo")
    with pytest.raises(StorageFullError):
        Repository.init(NoConfigDisk(where), TEST_PASSWORD, TEST_KDF)
    (stray,) = os.listdir(tmp_path / "repo" / "keys")
    repo = Repository.init(LocalBackend(where), TEST_PASSWORD, TEST_KDF)
    # Keys are tried in name order: make sure a stray one comes first, as it may by chance.
    while min(os.listdir(tmp_path / "repo" / "keys")) == repo.key_id:
        keys.add_key(repo.backend, MasterKey.generate(), "0" * 64, TEST_PASSWORD, TEST_KDF)
    again = Repository.open(LocalBackend(where), TEST_PASSWORD)
    assert again.key_id == repo.key_id != stray
    assert again.master == repo.master
