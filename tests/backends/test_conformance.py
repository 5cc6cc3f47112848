"""One conformance suite that every backend runs.

To add a backend (SFTP, S3), add a param to the ``backend`` fixture that builds a fresh,
empty instance, and (if it can leave temporary files) a case in ``leave_temporary_file``.
A backend that needs a service should ``pytest.skip`` with the reason when it is absent.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cadang.backends import Backend, FileType, open_backend
from cadang.backends.local import LocalBackend
from cadang.backends.mem import MemoryBackend
from cadang.errors import (
    BackendError,
    ObjectExistsError,
    ObjectNotFoundError,
    RepositoryExistsError,
    RepositoryNotFoundError,
)
from cadang.repo.repository import Repository


def _local(tmp_path: Path) -> Backend:
    return LocalBackend(str(tmp_path / "repo"))


def _memory(tmp_path: Path) -> Backend:
    return MemoryBackend(f"conformance-{secrets.token_hex(4)}")


FACTORIES: dict[str, Callable[[Path], Backend]] = {
    "local": _local,
    "memory": _memory,
}


@pytest.fixture(params=sorted(FACTORIES))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b = FACTORIES[request.param](tmp_path)
    b.create()
    try:
        yield b
    finally:
        b.close()


def pack_name() -> str:
    return secrets.token_hex(32)


# Every type except CONFIG (which has the single name "config"), with a realistic name.
NAMED_TYPES = [FileType.KEY, FileType.SNAPSHOT, FileType.INDEX, FileType.PACK, FileType.LOCK]


@pytest.mark.parametrize("ftype", NAMED_TYPES, ids=lambda t: t.value)
def test_save_load_roundtrip(backend: Backend, ftype: FileType) -> None:
    name = pack_name()
    data = os.urandom(3000)
    backend.save(ftype, name, data)
    assert backend.load(ftype, name) == data
    assert backend.size(ftype, name) == len(data)
    assert backend.exists(ftype, name)
    assert dict(backend.list(ftype)) == {name: len(data)}


def test_empty_file(backend: Backend) -> None:
    name = pack_name()
    backend.save(FileType.SNAPSHOT, name, b"")
    assert backend.load(FileType.SNAPSHOT, name) == b""
    assert backend.size(FileType.SNAPSHOT, name) == 0


def test_config_roundtrip(backend: Backend) -> None:
    backend.save(FileType.CONFIG, "config", b'{"x": 1}')
    assert backend.load(FileType.CONFIG, "config") == b'{"x": 1}'
    assert list(backend.list(FileType.CONFIG)) == [("config", 8)]


def test_range_loads(backend: Backend) -> None:
    name = pack_name()
    data = bytes(range(256)) * 40
    backend.save(FileType.PACK, name, data)
    assert backend.load(FileType.PACK, name, 0, 10) == data[:10]
    assert backend.load(FileType.PACK, name, 100, 1) == data[100:101]
    assert backend.load(FileType.PACK, name, 5000, 240) == data[5000:5240]
    assert backend.load(FileType.PACK, name, len(data) - 4, 4) == data[-4:]
    assert backend.load(FileType.PACK, name, 123) == data[123:]
    assert backend.load(FileType.PACK, name, 7, 0) == b""


def test_range_past_the_end_is_an_error(backend: Backend) -> None:
    name = pack_name()
    backend.save(FileType.PACK, name, b"0123456789")
    with pytest.raises(BackendError, match="shorter than expected") as info:
        backend.load(FileType.PACK, name, 8, 5)
    # The file is there, only too short: that is damage, not a missing file.
    assert not isinstance(info.value, ObjectNotFoundError)


def test_save_refuses_overwrite(backend: Backend) -> None:
    name = pack_name()
    backend.save(FileType.INDEX, name, b"first")
    with pytest.raises(ObjectExistsError):
        backend.save(FileType.INDEX, name, b"second")
    assert backend.load(FileType.INDEX, name) == b"first"


def test_config_is_not_overwritten(backend: Backend) -> None:
    backend.save(FileType.CONFIG, "config", b"one")
    with pytest.raises(ObjectExistsError):
        backend.save(FileType.CONFIG, "config", b"two")
    assert backend.load(FileType.CONFIG, "config") == b"one"


@pytest.mark.parametrize("ftype", NAMED_TYPES, ids=lambda t: t.value)
def test_missing_file(backend: Backend, ftype: FileType) -> None:
    name = pack_name()
    assert not backend.exists(ftype, name)
    with pytest.raises(ObjectNotFoundError):
        backend.load(ftype, name)
    with pytest.raises(ObjectNotFoundError):
        backend.load(ftype, name, 0, 1)
    with pytest.raises(ObjectNotFoundError):
        backend.size(ftype, name)
    with pytest.raises(ObjectNotFoundError):
        backend.remove(ftype, name)


def test_missing_config(backend: Backend) -> None:
    with pytest.raises(ObjectNotFoundError):
        backend.load(FileType.CONFIG, "config")
    assert list(backend.list(FileType.CONFIG)) == []


def test_list_is_per_type_and_complete(backend: Backend) -> None:
    packs = {pack_name(): os.urandom(n) for n in (1, 100, 5000)}
    for name, data in packs.items():
        backend.save(FileType.PACK, name, data)
    snaps = {pack_name(): b"s" * n for n in (3, 7)}
    for name, data in snaps.items():
        backend.save(FileType.SNAPSHOT, name, data)
    assert dict(backend.list(FileType.PACK)) == {n: len(d) for n, d in packs.items()}
    assert dict(backend.list(FileType.SNAPSHOT)) == {n: len(d) for n, d in snaps.items()}
    assert list(backend.list(FileType.INDEX)) == []
    assert list(backend.list(FileType.LOCK)) == []


def test_many_packs_share_a_prefix(backend: Backend) -> None:
    names = ["ab" + secrets.token_hex(31) for _ in range(5)] + ["cd" + secrets.token_hex(31)]
    for n in names:
        backend.save(FileType.PACK, n, n.encode())
    assert sorted(n for n, _ in backend.list(FileType.PACK)) == sorted(names)


def test_remove(backend: Backend) -> None:
    keep, drop = pack_name(), pack_name()
    backend.save(FileType.LOCK, keep, b"k")
    backend.save(FileType.LOCK, drop, b"d")
    backend.remove(FileType.LOCK, drop)
    assert not backend.exists(FileType.LOCK, drop)
    assert backend.exists(FileType.LOCK, keep)
    assert [n for n, _ in backend.list(FileType.LOCK)] == [keep]
    with pytest.raises(ObjectNotFoundError):
        backend.load(FileType.LOCK, drop)
    # The name is free again once removed.
    backend.save(FileType.LOCK, drop, b"again")
    assert backend.load(FileType.LOCK, drop) == b"again"


def test_create_twice_is_refused(backend: Backend) -> None:
    backend.save(FileType.CONFIG, "config", b"{}")
    with pytest.raises(RepositoryExistsError):
        backend.create()


def test_location_and_free_space(backend: Backend) -> None:
    assert backend.location()
    free = backend.free_space()
    assert free is None or free > 0


def test_save_stores_a_copy(backend: Backend) -> None:
    """The caller may reuse its buffer after save returns."""
    name = pack_name()
    buf = bytearray(b"original")
    backend.save(FileType.PACK, name, bytes(buf))
    buf[:] = b"changed!"
    assert backend.load(FileType.PACK, name) == b"original"


def test_repository_on_every_backend(backend: Backend) -> None:
    """The engine works on each backend end to end: init, blobs, snapshot files, reopen."""
    from cadang.repo.keys import TEST_KDF
    from cadang.repo.pack import BlobType

    repo = Repository.init(backend, "pw", TEST_KDF)
    blob_id, new = repo.save_blob(BlobType.DATA, b"hello" * 100)
    assert new
    repo.flush()
    name = repo.save_file(FileType.SNAPSHOT, b"plain")
    again = Repository.open(backend, "pw")
    assert again.load_blob(blob_id) == b"hello" * 100
    assert again.load_file(FileType.SNAPSHOT, name) == b"plain"
    with pytest.raises(RepositoryExistsError):
        Repository.init(backend, "pw", TEST_KDF)


# --- backend-specific behaviour --------------------------------------------------------------


def test_local_list_hides_temporary_files(tmp_path: Path) -> None:
    b = LocalBackend(str(tmp_path / "repo"))
    b.create()
    name = "ab" + secrets.token_hex(31)
    b.save(FileType.PACK, name, b"complete")
    # What a writer killed between write and rename leaves behind.
    leftover = tmp_path / "repo" / "data" / "ab" / f"{'ab' + secrets.token_hex(31)}.1234abcd.tmp"
    leftover.write_bytes(b"partial")
    (tmp_path / "repo" / "snapshots" / f"{secrets.token_hex(32)}.deadbeef.tmp").write_bytes(b"x")
    assert [n for n, _ in b.list(FileType.PACK)] == [name]
    assert list(b.list(FileType.SNAPSHOT)) == []
    assert sorted(os.path.basename(p) for p in b.list_temporary()) == sorted(
        [leftover.name, next((tmp_path / "repo" / "snapshots").iterdir()).name]
    )


def test_local_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    b = LocalBackend(str(tmp_path / "repo"))
    b.create()
    name = pack_name()
    b.save(FileType.PACK, name, b"x" * 100)
    with pytest.raises(ObjectExistsError):
        b.save(FileType.PACK, name, b"y" * 100)
    assert list(b.list_temporary()) == []
    stored = tmp_path / "repo" / "data" / name[:2] / name
    assert stored.read_bytes() == b"x" * 100


def test_local_pack_folder_missing_is_recreated(tmp_path: Path) -> None:
    """A copy of a repository made by a tool that drops empty folders still takes backups."""
    b = LocalBackend(str(tmp_path / "repo"))
    b.create()
    b.save(FileType.CONFIG, "config", b"{}")
    name = "7f" + secrets.token_hex(31)
    (tmp_path / "repo" / "data" / "7f").rmdir()
    (tmp_path / "repo" / "locks").rmdir()
    b.save(FileType.PACK, name, b"data")
    assert b.load(FileType.PACK, name) == b"data"
    b.save(FileType.LOCK, "lock1", b"lock")
    assert [n for n, _ in b.list(FileType.LOCK)] == ["lock1"]


def test_local_never_creates_folders_where_no_repository_is(tmp_path: Path) -> None:
    """An unmounted external disk leaves an empty mount point: nothing may be written there."""
    mount_point = tmp_path / "media" / "hdd"
    mount_point.mkdir(parents=True)
    b = LocalBackend(str(mount_point))
    with pytest.raises(BackendError):
        b.save(FileType.PACK, "7f" + secrets.token_hex(31), b"data")
    assert list(mount_point.iterdir()) == []


def test_local_rejects_bad_names(tmp_path: Path) -> None:
    b = LocalBackend(str(tmp_path / "repo"))
    b.create()
    for bad in ["", "../escape", "a/b", ".hidden", "x.tmp"]:
        with pytest.raises(BackendError):
            b.save(FileType.SNAPSHOT, bad, b"x")
    assert not (tmp_path / "escape").exists()


def test_local_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "a-file").write_bytes(b"not a directory")
    for where in (tmp_path / "plain", tmp_path / "a-file", tmp_path / "missing"):
        with pytest.raises(RepositoryNotFoundError):
            Repository.read_config(LocalBackend(str(where)))


def test_local_create_on_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_bytes(b"x")
    with pytest.raises(BackendError, match="not a directory"):
        LocalBackend(str(tmp_path / "a-file")).create()


def test_open_backend_schemes(tmp_path: Path) -> None:
    from cadang.errors import UsageError

    assert isinstance(open_backend(str(tmp_path)), LocalBackend)
    assert isinstance(open_backend("mem:conformance-x"), MemoryBackend)
    assert open_backend("mem:conformance-x") is open_backend("mem:conformance-x")
    with pytest.raises(UsageError, match="not supported"):
        open_backend("gopher://example/repo")
