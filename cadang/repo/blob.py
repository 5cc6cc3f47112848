"""Blob encoding: compress where it pays, then seal.

Plaintext inside the seal is one codec byte (0 = stored, 1 = zstd frame) then the payload.
"""

from __future__ import annotations

import threading

import zstandard

from cadang.errors import IntegrityError
from cadang.i18n import _
from cadang.repo.crypto import DOMAIN_BLOB, Cipher

CODEC_NONE = 0
CODEC_ZSTD = 1
# Store raw unless compression saves at least 1/32 of the size: decompressing costs
# time on every restore, so a 1% gain is not worth it.
_MIN_SAVING_SHIFT = 5

_local = threading.local()


def _compressor(level: int) -> zstandard.ZstdCompressor:
    cache: dict[int, zstandard.ZstdCompressor] | None = getattr(_local, "c", None)
    if cache is None:
        cache = _local.c = {}
    comp = cache.get(level)
    if comp is None:
        comp = cache[level] = zstandard.ZstdCompressor(level=level, write_content_size=True)
    return comp


def _decompressor() -> zstandard.ZstdDecompressor:
    d: zstandard.ZstdDecompressor | None = getattr(_local, "d", None)
    if d is None:
        d = _local.d = zstandard.ZstdDecompressor()
    return d


def blob_domain(blob_id: bytes) -> bytes:
    """A blob's associated data binds it to its id: a blob under the wrong id (a damaged
    or forged index entry) fails authentication, so readers need not hash it again."""
    return DOMAIN_BLOB + b":" + blob_id


def encode(cipher: Cipher, data: bytes | memoryview, level: int, blob_id: bytes) -> bytes:
    if level > 0 and len(data) > 64:
        packed = _compressor(level).compress(data)
        if len(packed) < len(data) - (len(data) >> _MIN_SAVING_SHIFT):
            return cipher.seal(b"\x01" + packed, blob_domain(blob_id))
    return cipher.seal(b"\x00" + bytes(data), blob_domain(blob_id))


def decode(
    cipher: Cipher, sealed: bytes | memoryview, raw_length: int, what: str, blob_id: bytes
) -> bytes:
    plain = cipher.open(sealed, blob_domain(blob_id), what)
    codec = plain[0] if plain else -1
    if codec == CODEC_NONE:
        out = plain[1:]
    elif codec == CODEC_ZSTD:
        try:
            out = _decompressor().decompress(memoryview(plain)[1:], max_output_size=raw_length)
        except zstandard.ZstdError as exc:
            raise IntegrityError(
                _("{what} does not decompress: {reason}").format(what=what, reason=exc)
            ) from None
    else:
        raise IntegrityError(_("{what} has unknown codec {codec}").format(what=what, codec=codec))
    if len(out) != raw_length:
        raise IntegrityError(
            _("{what} has length {length}, expected {expected}").format(
                what=what, length=len(out), expected=raw_length
            )
        )
    return out
