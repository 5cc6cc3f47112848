"""Pack files: many sealed blobs, then a sealed header that lists them.

    blob_0 || blob_1 || ... || seal(msgpack header) || u32le(len(sealed header))

The header is a list of ``[type, id, length, raw_length]``; offsets follow from the order.
A pack is named by the SHA-256 of its bytes. Because the header is inside the pack, the
index can always be rebuilt from the packs alone.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import msgpack

from cadang.errors import IntegrityError
from cadang.i18n import _
from cadang.repo.crypto import DOMAIN_PACK_HEADER, ID_SIZE, OVERHEAD, Cipher

_TRAILER = struct.Struct("<I")
# A header entry is ~45 bytes packed; anything bigger than this bound is damage.
_MAX_HEADER = 64 * 1024 * 1024


class BlobType(enum.IntEnum):
    DATA = 0
    TREE = 1


@dataclass(frozen=True, slots=True)
class PackedBlob:
    type: BlobType
    id: bytes
    offset: int
    length: int  # sealed length in the pack
    raw_length: int  # plaintext length


class PackWriter:
    """Collects sealed blobs in memory until the pack is big enough to store."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.entries: list[PackedBlob] = []
        self.size = 0

    def add(self, btype: BlobType, blob_id: bytes, sealed: bytes, raw_length: int) -> None:
        self._parts.append(sealed)
        self.entries.append(PackedBlob(btype, blob_id, self.size, len(sealed), raw_length))
        self.size += len(sealed)

    def __len__(self) -> int:
        return len(self.entries)

    def finish(self, cipher: Cipher) -> bytes:
        header = msgpack.packb(
            [[int(e.type), e.id, e.length, e.raw_length] for e in self.entries],
            use_bin_type=True,
        )
        sealed = cipher.seal(header, DOMAIN_PACK_HEADER)
        self._parts.append(sealed)
        self._parts.append(_TRAILER.pack(len(sealed)))
        data = b"".join(self._parts)
        self._parts = []
        return data


def header_length(tail: bytes, pack_size: int, name: str) -> int:
    """Length of the sealed header, read from the pack's last four bytes."""
    if len(tail) != _TRAILER.size or pack_size < _TRAILER.size + OVERHEAD:
        raise IntegrityError(
            _("pack {name} is too short to hold a header (truncated?)").format(name=name)
        )
    length: int = _TRAILER.unpack(tail)[0]
    if length < OVERHEAD or length > min(_MAX_HEADER, pack_size - _TRAILER.size):
        raise IntegrityError(
            _("pack {name} has an impossible header length {length}").format(
                name=name, length=length
            )
        )
    return length


def parse_header(cipher: Cipher, sealed: bytes, name: str) -> list[PackedBlob]:
    raw = cipher.open(sealed, DOMAIN_PACK_HEADER, _("header of pack {name}").format(name=name))
    try:
        items = msgpack.unpackb(raw, raw=False)
        entries: list[PackedBlob] = []
        offset = 0
        for btype, blob_id, length, raw_length in items:
            if not isinstance(blob_id, bytes) or len(blob_id) != ID_SIZE:
                raise ValueError(_("bad blob id"))
            entries.append(PackedBlob(BlobType(btype), blob_id, offset, length, raw_length))
            offset += length
    except (ValueError, TypeError, msgpack.ExtraData) as exc:
        raise IntegrityError(
            _("header of pack {name} is malformed: {reason}").format(name=name, reason=exc)
        ) from None
    return entries


def iter_blobs(data: bytes, entries: list[PackedBlob]) -> Iterator[tuple[PackedBlob, memoryview]]:
    view = memoryview(data)
    for e in entries:
        yield e, view[e.offset : e.offset + e.length]
