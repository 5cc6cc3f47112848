"""Authenticated encryption and keyed ids.

Everything stored is sealed as ``nonce (12 bytes) || AES-256-GCM ciphertext || tag (16)``,
with a *domain* (what kind of object it is) as associated data, so a sealed object of one
kind can never be passed off as another (a stored blob planted as a snapshot fails to open).
Blob ids are BLAKE3 keyed with a per-repository secret, so ids do not reveal content to
someone without the key (an unkeyed hash would confirm a guessed file).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass

import blake3
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cadang.errors import IntegrityError
from cadang.i18n import _

NONCE_SIZE = 12
TAG_SIZE = 16
OVERHEAD = NONCE_SIZE + TAG_SIZE
ID_SIZE = 32

# Associated data of each kind of sealed object (FORMAT.md, "Sealing").
DOMAIN_BLOB = b"cadang:blob"
DOMAIN_PACK_HEADER = b"cadang:pack-header"
DOMAIN_KEY = b"cadang:key"


def file_domain(folder: str) -> bytes:
    """The domain of a sealed repository file, by its folder: snapshots, index, locks."""
    return b"cadang:" + folder.encode("ascii")


@dataclass(frozen=True)
class MasterKey:
    """The repository's secrets; wrapped by each person's passphrase in a key file."""

    encryption: bytes  # 32 bytes, AES-256-GCM
    id_key: bytes  # 32 bytes, BLAKE3 key for blob ids
    chunker_seed: int  # 63-bit FastCDC gear-table seed

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(
            encryption=secrets.token_bytes(32),
            id_key=secrets.token_bytes(32),
            chunker_seed=secrets.randbits(63),
        )

    def with_new_encryption_key(self) -> MasterKey:
        """Same chunking and ids (so copies dedup), but its own encryption key."""
        return MasterKey(secrets.token_bytes(32), self.id_key, self.chunker_seed)

    def cipher(self) -> Cipher:
        return Cipher(self.encryption)

    def blob_id(self, data: bytes | memoryview) -> bytes:
        return blake3.blake3(data, key=self.id_key).digest()


class Cipher:
    """AES-256-GCM with random nonces. The object is safe to share between threads."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes | memoryview, domain: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, plaintext, domain)

    def open(self, sealed: bytes | memoryview, domain: bytes, what: str | None = None) -> bytes:
        """Decrypt and authenticate; ``what`` names the object in error messages."""
        if len(sealed) < OVERHEAD:
            raise IntegrityError(
                _("{what} is too short to be encrypted data (truncated?)").format(
                    what=what or _("data")
                )
            )
        view = memoryview(sealed)
        try:
            return self._aead.decrypt(view[:NONCE_SIZE], view[NONCE_SIZE:], domain)
        except InvalidTag:
            raise IntegrityError(
                _("{what} failed authentication: it was altered or damaged").format(
                    what=what or _("data")
                )
            ) from None


def storage_id(data: bytes | memoryview) -> str:
    """The name of a stored file: SHA-256 of its bytes, so damage shows without a key."""
    return hashlib.sha256(data).hexdigest()
