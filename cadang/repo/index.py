"""The index: which pack holds each blob, at what offset.

In memory the index is a sorted table of fixed 49-byte records searched by bisection, plus
a small dict of entries added since the last merge. That costs about 50 bytes a blob, so a
repository of 10 TB in 1 MiB chunks needs about 500 MiB, where a dict of tuples would need
five times as much.

On disk an index file is ``seal(zstd(msgpack({"version": 1, "packs": [[pack_id, [[type,
blob_id, offset, length, raw_length], ...]], ...]})))``, named by its SHA-256. Several files
may describe the same pack or blob; readers take any one.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import msgpack
import zstandard

from cadang.errors import IntegrityError
from cadang.i18n import _
from cadang.repo.crypto import ID_SIZE
from cadang.repo.pack import BlobType, PackedBlob

INDEX_VERSION = 1
_REC = struct.Struct("<32sIIIIB")  # id, pack number, offset, length, raw length, type
_MERGE_AT = 50_000


@dataclass(frozen=True, slots=True)
class IndexEntry:
    pack: str
    type: BlobType
    id: bytes
    offset: int
    length: int
    raw_length: int


_BUCKETS = 1 << 16


def _bucket_starts(table: bytes, count: int) -> array[int]:
    """Where each 2-byte id prefix starts in the sorted table (256 KiB): a lookup then
    bisects a few records instead of the whole table."""
    counts = [0] * (_BUCKETS + 1)
    for i in range(0, count * _REC.size, _REC.size):
        counts[((table[i] << 8) | table[i + 1]) + 1] += 1
    for b in range(1, _BUCKETS + 1):
        counts[b] += counts[b - 1]
    return array("I", counts)


class Index:
    def __init__(self) -> None:
        self._packs: list[str] = []
        self._pack_no: dict[str, int] = {}
        self._table = b""
        self._count = 0
        self._recent: dict[bytes, bytes] = {}
        self._shadowed: list[bytes] = []  # duplicates replaced in _recent, kept for entries()
        self._starts = array("I", bytes(4 * (_BUCKETS + 1)))

    # --- building ---------------------------------------------------------------------------
    def _pack_number(self, pack: str) -> int:
        no = self._pack_no.get(pack)
        if no is None:
            no = self._pack_no[pack] = len(self._packs)
            self._packs.append(pack)
        return no

    def add_pack(self, pack: str, entries: Iterable[PackedBlob]) -> None:
        no = self._pack_number(pack)
        recent = self._recent
        for e in entries:
            rec = _REC.pack(e.id, no, e.offset, e.length, e.raw_length, e.type)
            old = recent.get(e.id)
            if old is not None and old != rec:
                self._shadowed.append(old)  # the same blob in two packs: keep both
            recent[e.id] = rec
        if len(recent) + len(self._shadowed) >= _MERGE_AT:
            self._merge()

    def _merge(self) -> None:
        if not self._recent:
            return
        records = [self._table[i : i + _REC.size] for i in range(0, len(self._table), _REC.size)]
        records.extend(self._recent.values())
        records.extend(self._shadowed)
        records.sort()
        self._table = b"".join(records)
        self._count = len(records)
        self._recent = {}
        self._shadowed = []
        self._starts = _bucket_starts(self._table, self._count)

    # --- queries -----------------------------------------------------------------------------
    def _find(self, blob_id: bytes) -> bytes | None:
        rec = self._recent.get(blob_id)
        if rec is not None:
            return rec
        table, size = self._table, _REC.size
        bucket = (blob_id[0] << 8) | blob_id[1]
        lo, hi = self._starts[bucket], self._starts[bucket + 1]
        while lo < hi:
            mid = (lo + hi) >> 1
            if table[mid * size : mid * size + ID_SIZE] < blob_id:
                lo = mid + 1
            else:
                hi = mid
        if lo < self._count and table[lo * size : lo * size + ID_SIZE] == blob_id:
            return table[lo * size : (lo + 1) * size]
        return None

    def has(self, blob_id: bytes) -> bool:
        return self._find(blob_id) is not None

    def __contains__(self, blob_id: object) -> bool:
        return isinstance(blob_id, bytes) and self._find(blob_id) is not None

    def lookup(self, blob_id: bytes) -> IndexEntry | None:
        rec = self._find(blob_id)
        return None if rec is None else self._entry(rec)

    def _entry(self, rec: bytes) -> IndexEntry:
        bid, no, offset, length, raw_length, btype = _REC.unpack(rec)
        return IndexEntry(self._packs[no], BlobType(btype), bid, offset, length, raw_length)

    def __len__(self) -> int:
        self._merge()
        return self._count

    def entries(self) -> Iterator[IndexEntry]:
        """Every entry, duplicates included, in id order."""
        self._merge()
        table = self._table
        for i in range(0, len(table), _REC.size):
            yield self._entry(table[i : i + _REC.size])

    def packs(self) -> set[str]:
        self._merge()
        seen: set[int] = set()
        table = self._table
        for i in range(0, len(table), _REC.size):
            seen.add(_REC.unpack_from(table, i)[1])
        return {self._packs[n] for n in seen}


# --- index files ----------------------------------------------------------------------------


def encode_index_file(packs: dict[str, list[PackedBlob]], level: int = 3) -> bytes:
    doc = {
        "version": INDEX_VERSION,
        "packs": [
            [
                bytes.fromhex(pack),
                [[int(e.type), e.id, e.offset, e.length, e.raw_length] for e in entries],
            ]
            for pack, entries in packs.items()
        ],
    }
    raw = msgpack.packb(doc, use_bin_type=True)
    return zstandard.ZstdCompressor(level=level).compress(raw)


def decode_index_file(data: bytes, name: str) -> dict[str, list[PackedBlob]]:
    try:
        doc = msgpack.unpackb(
            zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 31), raw=False
        )
        if doc.get("version") != INDEX_VERSION:
            raise ValueError(
                _("unknown index version {version!r}").format(version=doc.get("version"))
            )
        out: dict[str, list[PackedBlob]] = {}
        for pack_id, blobs in doc["packs"]:
            out[bytes(pack_id).hex()] = [
                PackedBlob(BlobType(t), bytes(i), o, n, r) for t, i, o, n, r in blobs
            ]
    except (ValueError, TypeError, KeyError, AttributeError, zstandard.ZstdError) as exc:
        raise IntegrityError(
            _("index file {name} is malformed: {reason}").format(name=name, reason=exc)
        ) from None
    return out
