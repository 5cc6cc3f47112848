"""Pack files: blobs then a sealed header; write -> read round trips and damage."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadang.errors import IntegrityError
from cadang.repo import blob as blobcodec
from cadang.repo.crypto import DOMAIN_PACK_HEADER, MasterKey
from cadang.repo.pack import (
    BlobType,
    PackWriter,
    header_length,
    iter_blobs,
    parse_header,
)

KEY = MasterKey.generate()
CIPHER = KEY.cipher()


def read_pack(data: bytes, name: str = "test") -> list[tuple[BlobType, bytes, bytes]]:
    """What a reader with only the pack bytes and the key recovers: (type, id, plaintext)."""
    hlen = header_length(data[-4:], len(data), name)
    entries = parse_header(CIPHER, data[-4 - hlen : -4], name)
    out = []
    for e, sealed in iter_blobs(data, entries):
        plain = blobcodec.decode(CIPHER, sealed, e.raw_length, "blob", e.id)
        out.append((e.type, e.id, plain))
    return out


blobs_strategy = st.lists(
    st.tuples(st.sampled_from(list(BlobType)), st.binary(max_size=3000)), max_size=30
)


@settings(max_examples=60)
@given(blobs=blobs_strategy, level=st.sampled_from([0, 3]))
def test_pack_roundtrip(blobs: list[tuple[BlobType, bytes]], level: int) -> None:
    w = PackWriter()
    expected = []
    for btype, plain in blobs:
        bid = KEY.blob_id(plain)
        w.add(btype, bid, blobcodec.encode(CIPHER, plain, level, bid), len(plain))
        expected.append((btype, bid, plain))
    assert len(w) == len(blobs)
    data = w.finish(CIPHER)
    assert read_pack(data) == expected
    # Offsets in the writer's entries are where the reader finds the blobs.
    hlen = header_length(data[-4:], len(data), "p")
    assert parse_header(CIPHER, data[-4 - hlen : -4], "p") == w.entries


def test_empty_pack_has_a_header() -> None:
    data = PackWriter().finish(CIPHER)
    assert read_pack(data) == []


@settings(max_examples=50)
@given(position=st.integers(min_value=0), xor=st.integers(1, 255))
def test_damaged_header_is_detected(position: int, xor: int) -> None:
    w = PackWriter()
    for i in range(3):
        plain = os.urandom(100 + i)
        w.add(
            BlobType.DATA,
            KEY.blob_id(plain),
            blobcodec.encode(CIPHER, plain, 3, KEY.blob_id(plain)),
            len(plain),
        )
    data = bytearray(w.finish(CIPHER))
    blobs_end = w.entries[-1].offset + w.entries[-1].length
    # Flip a byte in the header or the trailer: reading the header must fail cleanly.
    pos = blobs_end + position % (len(data) - blobs_end)
    data[pos] ^= xor
    with pytest.raises(IntegrityError):
        read_pack(bytes(data))


def test_damaged_blob_is_detected_but_header_still_reads() -> None:
    w = PackWriter()
    plains = [os.urandom(200) for _ in range(3)]
    for p in plains:
        w.add(BlobType.DATA, KEY.blob_id(p), blobcodec.encode(CIPHER, p, 3, KEY.blob_id(p)), len(p))
    data = bytearray(w.finish(CIPHER))
    data[w.entries[1].offset + 5] ^= 0xFF
    hlen = header_length(bytes(data[-4:]), len(data), "p")
    entries = parse_header(CIPHER, bytes(data[-4 - hlen : -4]), "p")
    results = []
    for e, sealed in iter_blobs(bytes(data), entries):
        try:
            results.append(blobcodec.decode(CIPHER, sealed, e.raw_length, "blob", e.id))
        except IntegrityError:
            results.append(None)
    assert results == [plains[0], None, plains[2]]


@pytest.mark.parametrize("size", [0, 1, 3, 4, 20, 31])
def test_truncated_pack(size: int) -> None:
    data = PackWriter().finish(CIPHER)[:size]
    with pytest.raises(IntegrityError):
        header_length(data[-4:], len(data), "p")


def test_impossible_header_length() -> None:
    data = PackWriter().finish(CIPHER)
    fake_tail = (len(data) + 100).to_bytes(4, "little")
    with pytest.raises(IntegrityError, match="impossible header length"):
        header_length(fake_tail, len(data), "p")


@pytest.mark.parametrize(
    "header",
    [
        b"\x93\x01\x02",  # msgpack of a list that is not a list of entries
        b"\xc1",  # never used in msgpack
        b"\x91\x94\x00\xc4\x03abc\x01\x01",  # an id of the wrong length
        b"\x91\x94\x09\xc4\x20" + b"a" * 32 + b"\x01\x01",  # unknown blob type
        b"\x05",  # a plain integer
    ],
)
def test_malformed_header(header: bytes) -> None:
    with pytest.raises(IntegrityError, match="malformed"):
        parse_header(CIPHER, CIPHER.seal(header, DOMAIN_PACK_HEADER), "p")


def test_header_sealed_with_other_key() -> None:
    data = PackWriter().finish(MasterKey.generate().cipher())
    with pytest.raises(IntegrityError):
        read_pack(data)
