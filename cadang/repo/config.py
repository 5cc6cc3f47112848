"""The repository's plaintext config: format version and public parameters.

It is the one file not named by its hash; it carries a SHA-256 of its own body instead,
so damage is detected without a key. Secrets (chunker seed, id key) live in key files.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from cadang.errors import IntegrityError, UnsupportedFormatError
from cadang.i18n import _

FORMAT_NAME = "cadang-repository"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ChunkerParams:
    # pyfastcdc's real mean chunk size is avg + min: 512 KiB + 512 KiB ~ 1 MiB.
    min_size: int = 512 * 1024
    avg_size: int = 512 * 1024
    max_size: int = 8 * 1024 * 1024
    normalization: int = 1


@dataclass(frozen=True)
class RepoConfig:
    id: str = field(default_factory=lambda: secrets.token_hex(32))
    version: int = FORMAT_VERSION
    chunker: ChunkerParams = field(default_factory=ChunkerParams)
    compression_level: int = 1  # zstd 1: ~1.7x faster than 3 on dumps, same ratio (PERFORMANCE.md)
    pack_size: int = 16 * 1024 * 1024

    def to_bytes(self) -> bytes:
        body: dict[str, Any] = {"format": FORMAT_NAME, **asdict(self)}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        body["checksum"] = hashlib.sha256(canonical.encode()).hexdigest()
        return (json.dumps(body, sort_keys=True, indent=2) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> RepoConfig:
        try:
            body = json.loads(data)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            raise IntegrityError(
                _("the repository config is damaged or not a Cadang repository config")
            ) from None
        if body.get("format") != FORMAT_NAME:
            raise UnsupportedFormatError(
                _("this is not a Cadang repository (unknown config format)")
            )
        version = body.get("version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise UnsupportedFormatError(
                _(
                    "the repository has format version {version}, this Cadang reads up to "
                    "version {supported}"
                ).format(version=version, supported=FORMAT_VERSION),
                hint=_("upgrade Cadang to open it"),
            )
        checksum = body.pop("checksum", None)
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        if checksum != hashlib.sha256(canonical.encode()).hexdigest():
            raise IntegrityError(_("the repository config is damaged (checksum mismatch)"))
        try:
            return cls(
                id=str(body["id"]),
                version=version,
                chunker=ChunkerParams(**body["chunker"]),
                compression_level=int(body["compression_level"]),
                pack_size=int(body["pack_size"]),
            )
        except (KeyError, TypeError) as exc:
            raise IntegrityError(
                _("the repository config is incomplete: {reason}").format(reason=exc)
            ) from None
