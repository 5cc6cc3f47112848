"""The repository: config, keys, blobs in packs, the index, and sealed files.

Writes follow one order so that a crash never leaves a reference to nothing: packs, then
the index files that describe them, then the snapshot that points into them.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from cadang.backends import Backend, FileType
from cadang.errors import (
    BackendError,
    IntegrityError,
    ObjectNotFoundError,
    RepositoryNotFoundError,
    StoragePermissionError,
    UnsupportedFormatError,
)
from cadang.i18n import _
from cadang.repo import blob as blobcodec
from cadang.repo import keys
from cadang.repo.config import RepoConfig
from cadang.repo.crypto import Cipher, MasterKey, file_domain, storage_id
from cadang.repo.index import Index, IndexEntry, decode_index_file, encode_index_file
from cadang.repo.pack import BlobType, PackedBlob
from cadang.repo.packer import PackUploader

# Write an index file every so many packs, so a crash in a long backup loses little and
# the entries waiting to be written stay few.
_INDEX_EVERY_PACKS = 200


class HeldLock(Protocol):
    """The lock a command holds (cadang.repo.locks.Lock); checked before each commit."""

    def ensure_held(self) -> None: ...


class Repository:
    def __init__(
        self, backend: Backend, config: RepoConfig, master: MasterKey, key_id: str
    ) -> None:
        self.backend = backend
        self.config = config
        self.master = master
        self.key_id = key_id
        self.cipher: Cipher = master.cipher()
        self.index = Index()
        # Damaged index files that load_index skipped, one message each (naming the file).
        self.index_errors: list[str] = []
        self._lock = threading.Lock()
        self._pending: set[bytes] = set()
        self._unindexed: dict[str, list[PackedBlob]] = {}
        self._uploader = PackUploader(backend, self.cipher, config.pack_size, self._pack_stored)
        self.bytes_added = 0  # sealed bytes of new blobs, for summaries
        self.blobs_added = 0
        self.held_lock: HeldLock | None = None

    # --- opening ---------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        backend: Backend,
        passphrase: str,
        kdf: keys.KdfParams = keys.KdfParams(),  # noqa: B008
        config: RepoConfig | None = None,
        master: MasterKey | None = None,
    ) -> Repository:
        """Create a new repository. ``master`` shares secrets with another (see copy)."""
        config = config or RepoConfig()
        master = master or MasterKey.generate()
        backend.create()
        key_id = keys.add_key(backend, master, config.id, passphrase, kdf)
        backend.save(FileType.CONFIG, "config", config.to_bytes())
        return cls(backend, config, master, key_id)

    @classmethod
    def read_config(cls, backend: Backend) -> RepoConfig:
        try:
            data = backend.load(FileType.CONFIG, "config")
        except ObjectNotFoundError:
            raise RepositoryNotFoundError(
                _("there is no repository at {location}").format(location=backend.location()),
                hint=_("check the path, or create one with 'cadang init'"),
            ) from None
        return RepoConfig.from_bytes(data)

    @classmethod
    def open(cls, backend: Backend, passphrase: str, load_index: bool = True) -> Repository:
        config = cls.read_config(backend)
        master, repo_id, key_id = keys.open_with_passphrase(backend, passphrase, config.id)
        if repo_id != config.id:
            raise UnsupportedFormatError(
                _("the key fits, but belongs to another repository than this config names")
            )
        repo = cls(backend, config, master, key_id)
        if load_index:
            repo.load_index()
        return repo

    # --- sealed files (snapshots, index files, locks) ------------------------------------
    def save_file(self, ftype: FileType, plaintext: bytes) -> str:
        data = self.cipher.seal(plaintext, file_domain(ftype.value))
        name = storage_id(data)
        self.backend.save(ftype, name, data)
        return name

    def load_file(self, ftype: FileType, name: str) -> bytes:
        data = self.backend.load(ftype, name)
        if storage_id(data) != name:
            raise IntegrityError(
                _("{file} is damaged: its content does not match its name").format(
                    file=f"{ftype.value}/{name}"
                )
            )
        return self.cipher.open(data, file_domain(ftype.value), f"{ftype.value}/{name}")

    def list_files(self, ftype: FileType) -> list[str]:
        return sorted(name for name, _size in self.backend.list(ftype))

    # --- index -------------------------------------------------------------------------------
    def load_index_file(self, name: str) -> dict[str, list[PackedBlob]]:
        return decode_index_file(self.load_file(FileType.INDEX, name), name)

    def load_index(self) -> None:
        """Read every index file. A damaged one is skipped and named in ``index_errors``,
        so what other index files describe stays usable (``check`` reports what is lost)."""
        index = Index()
        names = self.list_files(FileType.INDEX)
        errors: list[str] = []

        def one(name: str) -> dict[str, list[PackedBlob]]:
            try:
                return self.load_index_file(name)
            except StoragePermissionError:
                raise
            except (IntegrityError, BackendError) as exc:
                errors.append(str(exc))
                return {}

        with ThreadPoolExecutor(max_workers=2) as pool:
            for packs in pool.map(one, names):
                for pack, entries in packs.items():
                    index.add_pack(pack, entries)
        len(index)  # merge now, not during the first lookups
        self.index = index
        self.index_errors = sorted(errors)

    def save_index_file(self, packs: dict[str, list[PackedBlob]]) -> str:
        return self.save_file(FileType.INDEX, encode_index_file(packs))

    def _pack_stored(self, pack: str, entries: list[PackedBlob]) -> None:
        """Called on the uploader thread once a pack is safely stored."""
        to_write: dict[str, list[PackedBlob]] | None = None
        with self._lock:
            self.index.add_pack(pack, entries)
            for e in entries:
                self._pending.discard(e.id)
            self._unindexed[pack] = entries
            if len(self._unindexed) >= _INDEX_EVERY_PACKS:
                to_write, self._unindexed = self._unindexed, {}
        if to_write:
            self.save_index_file(to_write)

    # --- blobs -------------------------------------------------------------------------------
    def has_blob(self, blob_id: bytes) -> bool:
        with self._lock:
            return blob_id in self._pending or self.index.has(blob_id)

    def lookup(self, blob_id: bytes) -> IndexEntry:
        entry = self.index.lookup(blob_id)
        if entry is None:
            raise IntegrityError(_("blob {id} is not in the index").format(id=blob_id.hex()))
        return entry

    def save_blob(
        self, btype: BlobType, data: bytes | memoryview, blob_id: bytes | None = None
    ) -> tuple[bytes, bool]:
        """Store a blob unless the repository has it; return (id, whether it was new)."""
        if blob_id is None:
            blob_id = self.master.blob_id(data)
        with self._lock:
            if blob_id in self._pending or self.index.has(blob_id):
                return blob_id, False
            self._pending.add(blob_id)
        try:
            sealed = blobcodec.encode(self.cipher, data, self.config.compression_level, blob_id)
            self._uploader.add(btype, blob_id, sealed, len(data))
        except BaseException:
            with self._lock:
                self._pending.discard(blob_id)
            raise
        with self._lock:
            self.bytes_added += len(sealed)
            self.blobs_added += 1
        return blob_id, True

    def load_blob(self, blob_id: bytes, verify: bool = False) -> bytes:
        """The plaintext of a blob. Authentication binds it to its id (see blob.blob_domain);
        ``verify`` also re-hashes the plaintext, which ``check --read-data`` does to catch a
        writer that stored data under a wrong id."""
        entry = self.lookup(blob_id)
        return self.read_blob(entry, verify)

    def read_blob(self, entry: IndexEntry, verify: bool = False) -> bytes:
        sealed = self.backend.load(FileType.PACK, entry.pack, entry.offset, entry.length)
        try:
            return self.decode_blob(entry.id, sealed, entry.raw_length, "", verify)
        except IntegrityError:
            # Name the blob only when it failed: the name costs a translation per read.
            what = _("blob {id} in pack {pack}").format(
                id=entry.id.hex()[:16], pack=entry.pack[:16]
            )
            return self.decode_blob(entry.id, sealed, entry.raw_length, what, verify)

    def decode_blob(
        self, blob_id: bytes, sealed: bytes | memoryview, raw_length: int, what: str, verify: bool
    ) -> bytes:
        data = blobcodec.decode(self.cipher, sealed, raw_length, what, blob_id)
        if verify and self.master.blob_id(data) != blob_id:
            raise IntegrityError(_("{what} does not match its id").format(what=what))
        return data

    def flush(self) -> None:
        """Store open packs, then an index file for every pack not yet in one."""
        self._uploader.flush()
        with self._lock:
            to_write, self._unindexed = self._unindexed, {}
        if to_write:
            self.save_index_file(to_write)

    def abort(self) -> None:
        """After a failed write (a full disk): drop what was not stored, keep what was.

        Packs already stored keep their place in ``_unindexed`` and get an index file at
        the next flush; blobs that never reached a pack are forgotten, so a later backup
        on this same object (the server runs many) stores them again.
        """
        self._uploader.reset()
        with self._lock:
            self._pending.clear()

    def close(self) -> None:
        self._uploader.close()
        self.backend.close()
