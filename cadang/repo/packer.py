"""Fills packs from many worker threads and stores them on one uploader thread.

Workers hash, compress and seal in parallel (the libraries release the GIL); only adding
the sealed bytes to the open pack takes a lock. Full packs go through a short queue to the
uploader, so reading the next files overlaps with writing, and memory stays bounded at a
few packs.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from cadang.backends import Backend, FileType
from cadang.repo.crypto import Cipher, storage_id
from cadang.repo.pack import BlobType, PackedBlob, PackWriter

_QUEUE_DEPTH = 2


class PackUploader:
    def __init__(
        self,
        backend: Backend,
        cipher: Cipher,
        pack_size: int,
        on_stored: Callable[[str, list[PackedBlob]], None],
    ) -> None:
        self._backend = backend
        self._cipher = cipher
        self._pack_size = pack_size
        self._on_stored = on_stored
        self._lock = threading.Lock()
        # Data and tree blobs go to separate packs, so a later reader of trees (ls, check,
        # the next backup's parent) touches only small tree packs.
        self._open: dict[BlobType, PackWriter] = {}
        self._queue: queue.Queue[PackWriter | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pack-uploader", daemon=True)
            self._thread.start()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def add(self, btype: BlobType, blob_id: bytes, sealed: bytes, raw_length: int) -> None:
        self._raise_if_failed()
        full: PackWriter | None = None
        with self._lock:
            writer = self._open.get(btype)
            if writer is None:
                writer = self._open[btype] = PackWriter()
            writer.add(btype, blob_id, sealed, raw_length)
            if writer.size >= self._pack_size:
                full = self._open.pop(btype)
        if full is not None:
            self._submit(full)

    def _submit(self, writer: PackWriter) -> None:
        self._ensure_thread()
        while True:
            self._raise_if_failed()
            try:
                self._queue.put(writer, timeout=0.5)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        while True:
            writer = self._queue.get()
            try:
                if writer is None:
                    return
                if self._error is not None:
                    continue  # drain after a failure so producers never block forever
                data = writer.finish(self._cipher)
                name = storage_id(data)
                self._backend.save(FileType.PACK, name, data)
                self._on_stored(name, writer.entries)
            except BaseException as exc:
                self._error = exc
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Store every open pack and wait until all are written."""
        with self._lock:
            writers = list(self._open.values())
            self._open.clear()
        for w in writers:
            if len(w):
                self._submit(w)
        if self._thread is not None:
            self._queue.join()
        self._raise_if_failed()

    def reset(self) -> None:
        """Forget open packs and a past failure, so the next backup starts clean.

        Blobs in dropped packs were never stored; the caller forgets them as pending.
        """
        with self._lock:
            self._open.clear()
        if self._thread is not None:
            self._queue.join()  # after a failure the thread drains without storing
        self._error = None

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
