"""Key files: the master key wrapped by one person's passphrase.

Each person (the ADB, the Kasi, the cryptography officer) holds their own key file, so a
passphrase can be added, changed or revoked without re-encrypting any data.

Managing keys (:func:`list_keys`, :func:`add_key`, :func:`remove_key`,
:func:`change_passphrase`) never touches data, snapshots or the index, so it does not need to
keep backups out. Two rules keep a repository from ending up with no key at all:

- a removal refuses the last key and the key the caller opened the repository with (so the
  caller has just proved that another key still works);
- a passphrase change adds the new key file *before* it removes the old one, so a crash
  between the two leaves both keys, never none.

The one race left is two people removing each other's keys at the same moment: each sees the
other key still there and both go. The command line therefore removes keys under an
exclusive repository lock (see ``cadang.cli.key``); adding and changing keep a shared lock.
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

from argon2.exceptions import Argon2Error
from argon2.low_level import Type, hash_secret_raw

from cadang.backends import Backend, FileType
from cadang.errors import (
    IntegrityError,
    KeyManagementError,
    ObjectNotFoundError,
    UnsupportedFormatError,
    UsageError,
    WrongPasswordError,
)
from cadang.i18n import _
from cadang.repo.crypto import DOMAIN_KEY, Cipher, MasterKey, storage_id

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
        "data": _b64(kek.seal(secret, DOMAIN_KEY)),
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
            _("key file keys/{id} is damaged (its content does not match its name)").format(id=name)
        )
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict):
            raise ValueError(_("not an object"))
    except ValueError as exc:
        raise IntegrityError(
            _("key file keys/{id} is not valid: {reason}").format(id=name, reason=exc)
        ) from None
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
        raise IntegrityError(
            _("key file keys/{id} has unknown version {version!r}").format(
                id=name, version=doc.get("version")
            )
        )
    try:
        k = doc["kdf"]
        if k["algorithm"] != "argon2id":
            raise IntegrityError(
                _("key file keys/{id} uses unknown KDF {kdf!r}").format(id=name, kdf=k["algorithm"])
            )
        params = KdfParams(int(k["time_cost"]), int(k["memory_kib"]), int(k["parallelism"]))
        # Bounds keep a tampered key file from asking for a petabyte or an hour of work.
        if not (
            1 <= params.time_cost <= 100
            and 8 <= params.memory_kib <= 4 * 1024 * 1024
            and 1 <= params.parallelism <= 64
        ):
            raise ValueError(_("KDF parameters out of range: {params}").format(params=params))
        kek = Cipher(params.derive(passphrase, _unb64(k["salt"])))
        sealed = _unb64(doc["data"])
    except (KeyError, TypeError, ValueError, OverflowError, Argon2Error) as exc:
        raise IntegrityError(
            _("key file keys/{id} is not valid: {reason}").format(id=name, reason=exc)
        ) from None
    try:
        secret = json.loads(kek.open(sealed, DOMAIN_KEY, _("key file keys/{id}").format(id=name)))
    except IntegrityError:
        return None
    master = MasterKey(
        encryption=_unb64(secret["encryption"]),
        id_key=_unb64(secret["id_key"]),
        chunker_seed=int(secret["chunker_seed"]),
    )
    return master, str(secret["repository"])


def open_with_passphrase(
    backend: Backend, passphrase: str, repo_id: str | None = None
) -> tuple[MasterKey, str, str]:
    """Try the passphrase on every key file; return (master, repository id, key id).

    With ``repo_id``, keys of another repository are passed over: an init that died after
    writing its key but before the config leaves such a key behind.
    """
    names = [n for n, _size in backend.list(FileType.KEY)]
    if not names:
        raise KeyManagementError(
            _("the repository has no key files"), hint=_("it cannot be opened")
        )
    damaged: list[str] = []
    foreign = False
    for name in sorted(names):
        try:
            result = unwrap(name, backend.load(FileType.KEY, name), passphrase)
        except IntegrityError:
            damaged.append(name)
            continue
        if result is not None:
            if repo_id is not None and result[1] != repo_id:
                foreign = True
                continue
            return result[0], result[1], name
    if foreign:
        raise UnsupportedFormatError(
            _("the key fits, but belongs to another repository than this config names")
        )
    if damaged:
        msg = _(
            "wrong passphrase: no key in the repository fits it "
            "({n} key file(s) are damaged: {ids})"
        ).format(n=len(damaged), ids=", ".join(d[:8] for d in damaged))
    else:
        msg = _("wrong passphrase: no key in the repository fits it")
    raise WrongPasswordError(msg, hint=_("check CADANG_PASSWORD / CADANG_PASSWORD_FILE"))


# --- managing keys ----------------------------------------------------------------------------


def list_keys(backend: Backend, errors: list[str] | None = None) -> list[KeyInfo]:
    """Every readable key file, oldest first. Damaged ones are named in ``errors``."""
    infos: list[KeyInfo] = []
    for name, _size in backend.list(FileType.KEY):
        try:
            infos.append(key_info(name, backend.load(FileType.KEY, name)))
        except ObjectNotFoundError:
            continue  # removed while we listed
        except IntegrityError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    infos.sort(key=lambda k: (k.created, k.id))
    return infos


def find_key(backend: Backend, prefix: str) -> str:
    """The full id of the one key file whose id starts with ``prefix``."""
    prefix = prefix.strip().lower()
    if not prefix:
        raise UsageError(_("give the id of the key (or its first characters)"))
    names = sorted(n for n, _size in backend.list(FileType.KEY) if n.startswith(prefix))
    if not names:
        raise KeyManagementError(
            _("no key matches {prefix!r}").format(prefix=prefix),
            hint=_("'cadang key list' shows the ids of the keys"),
        )
    if len(names) > 1:
        raise KeyManagementError(
            _("{prefix!r} matches {n} keys; give more characters of the id").format(
                prefix=prefix, n=len(names)
            )
        )
    return names[0]


def remove_key(backend: Backend, key_id: str, current_key_id: str) -> str:
    """Remove the key whose id starts with ``key_id``; return its full id.

    Refuses the last key, and the key the repository was opened with (the caller proves
    that another key works by opening with that one).
    """
    name = find_key(backend, key_id)
    others = [n for n, _size in backend.list(FileType.KEY) if n != name]
    if not others:
        raise KeyManagementError(
            _(
                "key {id} is the last key of the repository; removing it would lock everyone out"
            ).format(id=name[:8]),
            hint=_("add another key first with 'cadang key add'"),
        )
    if name == current_key_id:
        raise KeyManagementError(
            _(
                "key {id} is the key whose passphrase opened the repository; a key cannot "
                "remove itself"
            ).format(id=name[:8]),
            hint=_(
                "open the repository with another key's passphrase to remove this one, "
                "or use 'cadang key passwd' to change this key's passphrase"
            ),
        )
    try:
        backend.remove(FileType.KEY, name)
    except ObjectNotFoundError:
        pass  # someone else removed it meanwhile; the result is the same
    return name


def change_passphrase(
    backend: Backend,
    master: MasterKey,
    repo_id: str,
    current_key_id: str,
    new_passphrase: str,
    kdf: KdfParams = KdfParams(),
    label: str | None = None,
) -> str:
    """Replace the current key by one for ``new_passphrase``; return the new key's id.

    The new key is written first and the old one removed after, so a crash in between leaves
    two working keys rather than none. The new key keeps the old one's label unless
    ``label`` is given.
    """
    if label is None:
        try:
            label = key_info(current_key_id, backend.load(FileType.KEY, current_key_id)).label
        except (ObjectNotFoundError, IntegrityError):
            label = ""
    new_id = add_key(backend, master, repo_id, new_passphrase, kdf, label)
    try:
        backend.remove(FileType.KEY, current_key_id)
    except ObjectNotFoundError:
        pass  # already gone (removed by someone else); the new key stands
    return new_id
