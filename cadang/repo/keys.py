"""Key files: the master key wrapped by one person's passphrase.

Each person (the ADB, the Kasi, the cryptography officer) holds their own key file, so a
passphrase can be added, changed or revoked without re-encrypting any data.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from argon2.low_level import Type, hash_secret_raw

from cadang.backends import Backend, FileType
from cadang.errors import IntegrityError, KeyManagementError, WrongPasswordError
from cadang.repo.crypto import Cipher, MasterKey, storage_id

KEY_FORMAT_VERSION = 1


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. The default takes about a quarter of a second on a 2-core server."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 2

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        return hash_secret_raw(
            passphrase.encode("utf-8"),
            salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            hash_len=32,
            type=Type.ID,
        )


# Cheap parameters for tests that open many repositories; never for real data.
TEST_KDF = KdfParams(time_cost=1, memory_kib=8, parallelism=1)


@dataclass(frozen=True)
class KeyInfo:
    id: str
    username: str
    hostname: str
    created: str
    label: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def make_key_file(
    master: MasterKey,
    repo_id: str,
    passphrase: str,
    kdf: KdfParams = KdfParams(),
    label: str = "",
) -> bytes:
    salt = os.urandom(16)
    kek = Cipher(kdf.derive(passphrase, salt))
    secret = json.dumps(
        {
            "repository": repo_id,
            "encryption": _b64(master.encryption),
            "id_key": _b64(master.id_key),
            "chunker_seed": master.chunker_seed,
        }
    ).encode()
    doc = {
        "version": KEY_FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "username": getpass.getuser(),
        "hostname": socket.gethostname(),
        "label": label,
        "kdf": {
            "algorithm": "argon2id",
            "time_cost": kdf.time_cost,
            "memory_kib": kdf.memory_kib,
            "parallelism": kdf.parallelism,
            "salt": _b64(salt),
        },
        "data": _b64(kek.seal(secret)),
    }
    return json.dumps(doc, indent=2).encode()


def add_key(
    backend: Backend,
    master: MasterKey,
    repo_id: str,
    passphrase: str,
    kdf: KdfParams = KdfParams(),
    label: str = "",
) -> str:
    data = make_key_file(master, repo_id, passphrase, kdf, label)
    name = storage_id(data)
    backend.save(FileType.KEY, name, data)
    return name


def _parse_key_file(name: str, data: bytes) -> dict[str, Any]:
    if storage_id(data) != name:
        raise IntegrityError(
            f"key file keys/{name} is damaged (its content does not match its name)"
        )
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        raise IntegrityError(f"key file keys/{name} is not valid: {exc}") from None
    return doc


def key_info(name: str, data: bytes) -> KeyInfo:
    doc = _parse_key_file(name, data)
    return KeyInfo(
        id=name,
        username=str(doc.get("username", "")),
        hostname=str(doc.get("hostname", "")),
        created=str(doc.get("created", "")),
        label=str(doc.get("label", "")),
    )


def unwrap(name: str, data: bytes, passphrase: str) -> tuple[MasterKey, str] | None:
    """Return (master key, repository id), or None if the passphrase does not fit."""
    doc = _parse_key_file(name, data)
    if doc.get("version") != KEY_FORMAT_VERSION:
        raise IntegrityError(f"key file keys/{name} has unknown version {doc.get('version')!r}")
    try:
        k = doc["kdf"]
        if k["algorithm"] != "argon2id":
            raise IntegrityError(f"key file keys/{name} uses unknown KDF {k['algorithm']!r}")
        params = KdfParams(int(k["time_cost"]), int(k["memory_kib"]), int(k["parallelism"]))
        kek = Cipher(params.derive(passphrase, _unb64(k["salt"])))
        sealed = _unb64(doc["data"])
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"key file keys/{name} is not valid: {exc}") from None
    try:
        secret = json.loads(kek.open(sealed, f"key file keys/{name}"))
    except IntegrityError:
        return None
    master = MasterKey(
        encryption=_unb64(secret["encryption"]),
        id_key=_unb64(secret["id_key"]),
        chunker_seed=int(secret["chunker_seed"]),
    )
    return master, str(secret["repository"])


def open_with_passphrase(backend: Backend, passphrase: str) -> tuple[MasterKey, str, str]:
    """Try the passphrase on every key file; return (master, repository id, key id)."""
    names = [n for n, _ in backend.list(FileType.KEY)]
    if not names:
        raise KeyManagementError("the repository has no key files", hint="it cannot be opened")
    damaged: list[str] = []
    for name in sorted(names):
        try:
            result = unwrap(name, backend.load(FileType.KEY, name), passphrase)
        except IntegrityError:
            damaged.append(name)
            continue
        if result is not None:
            return result[0], result[1], name
    msg = "wrong passphrase: no key in the repository fits it"
    if damaged:
        msg += f" ({len(damaged)} key file(s) are damaged: {', '.join(d[:8] for d in damaged)})"
    raise WrongPasswordError(msg, hint="check CADANG_PASSWORD / CADANG_PASSWORD_FILE")
