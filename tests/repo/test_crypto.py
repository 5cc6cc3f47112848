"""Authenticated encryption, keyed ids and the blob codec."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadang.errors import IntegrityError
from cadang.repo import blob as blobcodec
from cadang.repo.blob import blob_domain
from cadang.repo.crypto import OVERHEAD, Cipher, MasterKey, file_domain, storage_id

KEY = MasterKey.generate()
CIPHER = KEY.cipher()
D = b"cadang:test"
BID = bytes(range(32))


@given(st.binary(max_size=5000))
def test_seal_open_roundtrip(data: bytes) -> None:
    sealed = CIPHER.seal(data, D)
    assert len(sealed) == len(data) + OVERHEAD
    assert CIPHER.open(sealed, D) == data


def test_a_sealed_object_does_not_open_as_another_kind() -> None:
    """A blob planted in snapshots/ must not open as a snapshot (domain separation)."""
    blob = blobcodec.encode(CIPHER, b'{"tree": "00"}', 0, BID)
    with pytest.raises(IntegrityError):
        CIPHER.open(blob, file_domain("snapshots"))
    snapshot = CIPHER.seal(b"{}", file_domain("snapshots"))
    with pytest.raises(IntegrityError):
        CIPHER.open(snapshot, file_domain("index"))


def test_a_blob_does_not_open_under_another_id() -> None:
    """A damaged index entry pointing at another (valid) blob is caught by authentication."""
    sealed = blobcodec.encode(CIPHER, b"isi berkas", 0, BID)
    with pytest.raises(IntegrityError):
        blobcodec.decode(CIPHER, sealed, 10, "blob", bytes(32))
    assert blobcodec.decode(CIPHER, sealed, 10, "blob", BID) == b"isi berkas"


def test_seal_uses_fresh_nonces() -> None:
    assert CIPHER.seal(b"same", D) != CIPHER.seal(b"same", D)


@settings(max_examples=200)
@given(
    data=st.binary(max_size=300),
    position=st.integers(min_value=0),
    xor=st.integers(min_value=1, max_value=255),
)
def test_any_flipped_byte_is_detected(data: bytes, position: int, xor: int) -> None:
    sealed = bytearray(CIPHER.seal(data, D))
    sealed[position % len(sealed)] ^= xor
    with pytest.raises(IntegrityError, match="altered or damaged"):
        CIPHER.open(bytes(sealed), D, "test data")


@given(data=st.binary(max_size=300), cut=st.integers(min_value=1))
def test_truncation_is_detected(data: bytes, cut: int) -> None:
    sealed = CIPHER.seal(data, D)
    short = sealed[: len(sealed) - 1 - cut % len(sealed)]
    with pytest.raises(IntegrityError):
        CIPHER.open(short, D)


@given(data=st.binary(min_size=1, max_size=300), extra=st.binary(min_size=1, max_size=20))
def test_appended_bytes_are_detected(data: bytes, extra: bytes) -> None:
    with pytest.raises(IntegrityError):
        CIPHER.open(CIPHER.seal(data, D) + extra, D)


def test_other_key_cannot_open() -> None:
    with pytest.raises(IntegrityError):
        MasterKey.generate().cipher().open(CIPHER.seal(b"secret", D), D)


def test_blob_ids_are_keyed() -> None:
    other = MasterKey.generate()
    assert KEY.blob_id(b"x") == KEY.blob_id(memoryview(b"x"))
    assert KEY.blob_id(b"x") != other.blob_id(b"x")
    assert len(KEY.blob_id(b"")) == 32
    # Copies share ids and chunking but not the encryption key.
    twin = KEY.with_new_encryption_key()
    assert twin.blob_id(b"x") == KEY.blob_id(b"x")
    assert twin.chunker_seed == KEY.chunker_seed
    assert twin.encryption != KEY.encryption


def test_storage_id_is_sha256() -> None:
    assert storage_id(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# --- blob codec ----------------------------------------------------------------------------


@settings(max_examples=50)
@given(data=st.binary(max_size=20_000), level=st.integers(0, 9))
def test_blob_roundtrip(data: bytes, level: int) -> None:
    sealed = blobcodec.encode(CIPHER, data, level, BID)
    assert blobcodec.decode(CIPHER, sealed, len(data), "blob", BID) == data


def test_compressible_blob_is_compressed() -> None:
    data = b"INSERT INTO pegawai VALUES (1, 'Budi');\n" * 5000
    sealed = blobcodec.encode(CIPHER, data, 3, BID)
    assert len(sealed) < len(data) // 10
    assert CIPHER.open(sealed, blob_domain(BID))[0] == blobcodec.CODEC_ZSTD
    assert blobcodec.decode(CIPHER, sealed, len(data), "blob", BID) == data


def test_incompressible_blob_is_stored_raw() -> None:
    data = os.urandom(100_000)
    sealed = blobcodec.encode(CIPHER, data, 3, BID)
    assert len(sealed) == len(data) + 1 + OVERHEAD
    plain = CIPHER.open(sealed, blob_domain(BID))
    assert plain[0] == blobcodec.CODEC_NONE
    assert plain[1:] == data
    assert blobcodec.decode(CIPHER, sealed, len(data), "blob", BID) == data


def test_level_zero_stores_raw() -> None:
    data = b"a" * 10_000
    assert (
        CIPHER.open(blobcodec.encode(CIPHER, data, 0, BID), blob_domain(BID))[0]
        == blobcodec.CODEC_NONE
    )


def test_blob_length_mismatch_is_detected() -> None:
    data = b"hello world " * 100
    sealed = blobcodec.encode(CIPHER, data, 3, BID)
    with pytest.raises(IntegrityError):
        blobcodec.decode(CIPHER, sealed, len(data) - 1, "blob", BID)
    with pytest.raises(IntegrityError):
        blobcodec.decode(CIPHER, sealed, len(data) + 1, "blob", BID)


def test_unknown_codec_and_bad_zstd_are_detected() -> None:
    with pytest.raises(IntegrityError, match="unknown codec"):
        blobcodec.decode(CIPHER, CIPHER.seal(b"\x07abc", blob_domain(BID)), 3, "blob", BID)
    with pytest.raises(IntegrityError, match="does not decompress"):
        blobcodec.decode(CIPHER, CIPHER.seal(b"\x01not zstd", blob_domain(BID)), 8, "blob", BID)
    with pytest.raises(IntegrityError):
        blobcodec.decode(CIPHER, CIPHER.seal(b"", blob_domain(BID)), 0, "blob", BID)


def test_cipher_needs_a_256_bit_key() -> None:
    with pytest.raises(ValueError):
        Cipher(b"short")
