"""The packs of a check: their structure, their contents, and those no index names.

:class:`PackAuditor` does three of the checker's steps (see :mod:`cadang.repo.checker`):

5. every pack the index names must be present, of the size the index implies, with a header
   that matches the index; packs no index names are read for their header only;
6. with ``read_data`` (or a subset), every selected pack is read whole: its SHA-256 must be its
   name and every blob must decrypt, decompress and match its keyed id. A pack with a
   structural problem is always read this way, to tell which of its blobs survive;
9. packs no index names are reported: as garbage that prune removes, or, when snapshots still
   need their blobs or the index is damaged, as packs to keep until the index is rebuilt.

What it learns (which copies of blobs are unreadable, which blobs only an unindexed pack
holds) is what the tree walk (:mod:`cadang.repo.check_trees`) needs.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import msgpack

from cadang.backends import FileType
from cadang.errors import CadangError
from cadang.i18n import _
from cadang.repo.check_result import Findings
from cadang.repo.check_subset import ReadSubset
from cadang.repo.crypto import OVERHEAD, storage_id
from cadang.repo.pack import BlobType, PackedBlob, header_length, parse_header
from cadang.repo.progress import Progress
from cadang.repo.repository import Repository

_T = TypeVar("_T")
_R = TypeVar("_R")

_TRAILER_SIZE = 4


CheckProgress = Progress  # kept for callers that name it


def parallel_map(fn: Callable[[_T], _R], items: Iterable[_T], workers: int) -> list[_R]:
    """``fn`` over ``items`` in order, on ``workers`` threads when that can help."""
    items = list(items)
    if len(items) < 2 or workers < 2:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="check") as pool:
        return list(pool.map(fn, items))


# A pack's entries are kept as rows of this struct (45 bytes a blob rather than ~200 for
# PackedBlob objects), so checking a repository of millions of blobs stays small.
_ROW = struct.Struct("<IIIB32s")  # offset, length, raw length, type, id


def pack_rows(entries: Iterable[PackedBlob]) -> bytes:
    """Entries in a compact, canonical form (sorted by offset)."""
    return b"".join(
        _ROW.pack(e.offset, e.length, e.raw_length, int(e.type), e.id)
        for e in sorted(entries, key=lambda e: (e.offset, e.id))
    )


def _entries(rows: bytes) -> list[PackedBlob]:
    return [
        PackedBlob(BlobType(t), bid, offset, length, raw)
        for offset, length, raw, t, bid in _ROW.iter_unpack(rows)
    ]


def _expected_pack_size(entries: list[PackedBlob]) -> int:
    header = msgpack.packb(
        [[int(e.type), e.id, e.length, e.raw_length] for e in entries], use_bin_type=True
    )
    return sum(e.length for e in entries) + OVERHEAD + len(header) + _TRAILER_SIZE


@dataclass
class _PackReadResult:
    pack: str
    size: int
    name_ok: bool
    bad: list[tuple[bytes, str]]  # (blob id, reason)
    total: int
    error: str | None = None  # the pack could not be read at all


class PackAuditor:
    """Steps 5, 6 and 9 of one check, over the packs the index files describe.

    ``rows`` maps each indexed pack to its entries (see :func:`pack_rows`).
    """

    def __init__(
        self,
        repo: Repository,
        findings: Findings,
        rows: dict[str, bytes],
        progress: CheckProgress,
        workers: int,
    ) -> None:
        self.repo = repo
        self.backend = repo.backend
        self.findings = findings
        self.rows = rows
        self.progress = progress
        self.workers = workers
        self.backend_packs: dict[str, int] = {}
        self.suspect: dict[str, str] = {}  # pack -> what is wrong with it
        self.orphans: dict[str, list[PackedBlob] | str] = {}  # pack -> header or error
        self.orphan_blobs: dict[bytes, tuple[str, PackedBlob]] = {}  # blob -> where
        self.bad_copies: set[tuple[str, bytes]] = set()  # (pack, blob id) unreadable

    # --- 5. pack structure -------------------------------------------------------------------
    def _read_header(self, pack: str, size: int) -> list[PackedBlob]:
        tail = self.backend.load(FileType.PACK, pack, size - _TRAILER_SIZE, _TRAILER_SIZE)
        length = header_length(tail, size, pack)
        sealed = self.backend.load(FileType.PACK, pack, size - _TRAILER_SIZE - length, length)
        return parse_header(self.repo.cipher, sealed, pack)

    def _pack_problem(self, pack: str) -> str | None:
        """What is wrong with an indexed pack's structure, or None."""
        entries = _entries(self.rows[pack])
        size = self.backend_packs[pack]
        offset = 0
        for e in entries:
            if e.offset != offset:
                return _("the index lists its blobs with gaps or overlaps")
            offset += e.length
        expected = _expected_pack_size(entries)
        if size != expected:
            return _("it is {size} bytes, the index implies {expected} (truncated?)").format(
                size=size, expected=expected
            )
        try:
            header = self._read_header(pack, size)
        except CadangError as exc:
            return _("its header is unreadable: {reason}").format(reason=exc)
        if pack_rows(header) != self.rows[pack]:
            return _("its header does not match the index")
        return None

    def check_structure(self) -> None:
        self.backend_packs = dict(self.backend.list(FileType.PACK))
        indexed = sorted(self.rows)
        present = [p for p in indexed if p in self.backend_packs]
        for pack in indexed:
            self.findings.count("packs")
            if pack not in self.backend_packs:
                self.findings.damaged["packs"].add(pack)
                entries = _entries(self.rows[pack])
                self.bad_copies.update((pack, e.id) for e in entries)
                self.findings.error(
                    _(
                        "pack {pack} is missing: the {n} blob(s) the index lists in it are lost"
                    ).format(pack=pack, n=len(entries))
                )
        problems = parallel_map(self._pack_problem, present, self.workers)
        for pack, problem in zip(present, problems, strict=True):
            if problem is not None:
                self.suspect[pack] = problem

        orphans = sorted(set(self.backend_packs) - set(self.rows))

        def header(pack: str) -> list[PackedBlob] | str:
            try:
                return self._read_header(pack, self.backend_packs[pack])
            except CadangError as exc:
                return str(exc)

        headers = parallel_map(header, orphans, self.workers)
        self.orphans = dict(zip(orphans, headers, strict=True))
        for pack, found in self.orphans.items():
            if not isinstance(found, str):
                for e in found:
                    self.orphan_blobs[e.id] = (pack, e)

    # --- 6. pack contents ----------------------------------------------------------------
    def _read_pack(self, pack: str) -> _PackReadResult:
        entries = _entries(self.rows[pack])
        try:
            data = self.backend.load(FileType.PACK, pack)
        except CadangError as exc:
            return _PackReadResult(pack, 0, False, [], len(entries), str(exc))
        bad: list[tuple[bytes, str]] = []
        view = memoryview(data)
        for e in entries:
            if e.offset + e.length > len(data):
                bad.append((e.id, _("it lies beyond the end of the pack")))
                continue
            if e.type is BlobType.TREE:
                what = _("tree blob {id}").format(id=e.id.hex())
            else:
                what = _("data blob {id}").format(id=e.id.hex())
            try:
                self.repo.decode_blob(
                    e.id, view[e.offset : e.offset + e.length], e.raw_length, what, verify=True
                )
            except CadangError as exc:
                bad.append((e.id, str(exc)))
        name_ok = storage_id(data) == pack
        size = len(data)
        self.progress.bytes_done(size)
        self.progress.file_done(pack, size)
        return _PackReadResult(pack, size, name_ok, bad, len(entries))

    def read_contents(self, read_data: bool, subset: ReadSubset | None, rng: random.Random) -> None:
        present = sorted(p for p in self.rows if p in self.backend_packs)
        if subset is not None:
            selected = set(subset.select(present, rng))
        elif read_data:
            selected = set(present)
        else:
            selected = set()
        selected |= set(self.suspect)
        todo = sorted(selected)
        self.progress.set_totals(len(todo), sum(self.backend_packs[p] for p in todo))
        for r in parallel_map(self._read_pack, todo, self.workers):
            self.findings.count("packs_read")
            self.findings.count("bytes_read", r.size)
            self._pack_verdict(r)

    def _pack_verdict(self, r: _PackReadResult) -> None:
        reasons: list[str] = []
        structure = self.suspect.get(r.pack)
        if structure is not None:
            reasons.append(structure)
        if r.error is not None:
            reasons.append(_("it cannot be read: {reason}").format(reason=r.error))
            self.bad_copies.update((r.pack, e.id) for e in _entries(self.rows[r.pack]))
        else:
            if not r.name_ok and structure is None:
                reasons.append(_("its content does not match its name (SHA-256)"))
            self.bad_copies.update((r.pack, blob_id) for blob_id, _reason in r.bad)
            if r.bad:
                first = r.bad[0]
                reasons.append(
                    _("{n} of its {total} blob(s) are unreadable (e.g. {blob}: {reason})").format(
                        n=len(r.bad), total=r.total, blob=first[0].hex(), reason=first[1]
                    )
                )
            elif reasons:
                reasons.append(
                    _("all {total} of its blob(s) still read correctly").format(total=r.total)
                )
        if not reasons:
            return
        self.findings.damaged["packs"].add(r.pack)
        self.findings.damaged["blobs"].update(blob_id.hex() for blob_id, _reason in r.bad)
        self.findings.error(
            _("pack {pack} is damaged: {reasons}").format(pack=r.pack, reasons="; ".join(reasons))
        )

    # --- 9. packs no index names -----------------------------------------------------
    def check_unreferenced(self, used: set[bytes], unreadable_trees: set[bytes]) -> None:
        """Report the packs no readable index names. ``used`` are the blobs and trees that
        snapshots need but no readable index lists; ``unreadable_trees`` the trees that could
        not be read from anywhere the index points."""
        damaged = self.findings.damaged
        # Below a tree that cannot be read at all, nobody can tell which blobs are needed:
        # then no pack may be called garbage while index files are damaged too.
        unsure = bool(damaged["index"]) and bool(unreadable_trees - set(self.orphan_blobs))
        for pack, header in sorted(self.orphans.items()):
            if isinstance(header, str):
                reason = header
                needed = 0
            else:
                reason = ""
                needed = sum(1 for e in header if e.id in used)
            if needed:
                damaged["packs"].add(pack)
                self.findings.error(
                    _(
                        "pack {pack} is in no readable index, but holds {n} blob(s) that "
                        "snapshots use; do not prune: the index must be rebuilt first"
                    ).format(pack=pack, n=needed)
                )
            elif damaged["index"] and reason:
                self.findings.warn(
                    _(
                        "pack {pack} is not referenced by any readable index; index files are "
                        "damaged, so keep it (do not prune) until the index is rebuilt ({reason})"
                    ).format(pack=pack, reason=reason)
                )
            elif damaged["index"] and unsure:
                self.findings.warn(
                    _(
                        "pack {pack} is not referenced by any readable index; index files are "
                        "damaged, so keep it (do not prune) until the index is rebuilt"
                    ).format(pack=pack)
                )
            elif reason:
                self.findings.warn(
                    _(
                        "pack {pack} is not referenced by any index and its header is unreadable "
                        "(prune removes it): {reason}"
                    ).format(pack=pack, reason=reason)
                )
            else:
                self.findings.warn(
                    _("pack {pack} is not referenced by any index (prune removes it)").format(
                        pack=pack
                    )
                )
