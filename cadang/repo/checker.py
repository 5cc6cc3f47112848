"""Checking a repository: its structure always, the contents of its packs when asked.

Like restic's checker it never stops at the first problem. It reports every damaged config,
key, index file, snapshot, pack and tree by id, and then maps the damage to what it costs:
for every snapshot, the files whose content and the directories whose listing can no longer
be read. The steps, in order:

1. the config (its checksum, and that its bytes are exactly what Cadang writes);
2. every key file (name = SHA-256 of its bytes, valid JSON);
3. every index file, one by one, so one damaged file does not hide the others;
4. every snapshot file;
5. every pack the index names: present, of the size the index implies, with a header that
   matches the index; packs no index names are read for their header only;
6. with ``read_data`` (or a subset), every selected pack is read whole: its SHA-256 must be its
   name and every blob must decrypt, decompress and match its keyed id. A pack with a
   structural problem is always read this way, to tell which of its blobs survive;
7. every tree reachable from a snapshot decodes, and every blob it references is in the index
   with the right type;
8. the damaged and missing blobs and trees are mapped to snapshot paths.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import struct
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import msgpack

from cadang.backends import Backend, FileType
from cadang.errors import (
    CadangError,
    IntegrityError,
    UnsupportedFormatError,
    UsageError,
)
from cadang.i18n import _
from cadang.repo import keys
from cadang.repo.config import RepoConfig
from cadang.repo.crypto import OVERHEAD, storage_id
from cadang.repo.index import Index, IndexEntry
from cadang.repo.locks import read_locks
from cadang.repo.pack import BlobType, PackedBlob, header_length, parse_header
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot, load_snapshot
from cadang.repo.tree import Node, NodeType, decode_tree

_T = TypeVar("_T")
_R = TypeVar("_R")

_TRAILER_SIZE = 4
_SHOW_IDS = 5  # how many ids an aggregated message names before "..."


class CheckProgress(Protocol):
    """Progress of reading packs; the command line draws it."""

    def set_totals(self, files: int, size: int) -> None: ...

    def file_done(self, path: str, size: int) -> None: ...

    def bytes_done(self, size: int) -> None: ...


class _NoProgress:
    def set_totals(self, files: int, size: int) -> None:
        pass

    def file_done(self, path: str, size: int) -> None:
        pass

    def bytes_done(self, size: int) -> None:
        pass


# --- which packs to read ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReadSubset:
    """A part of the packs to read: a random percentage, or group ``n`` of ``t``.

    Groups follow restic: a pack is in group ``n`` of ``t`` when the first byte of its id,
    modulo ``t``, is ``n - 1``; reading groups 1..t on successive days reads every pack.
    """

    text: str
    percent: float | None = None
    group: int | None = None
    groups: int | None = None

    def select(self, packs: Iterable[str], rng: random.Random) -> list[str]:
        names = sorted(packs)
        if self.percent is not None:
            count = min(len(names), math.ceil(len(names) * self.percent / 100))
            return sorted(rng.sample(names, count))
        assert self.group is not None and self.groups is not None
        return [p for p in names if _first_byte(p) % self.groups == self.group - 1]


def _first_byte(name: str) -> int:
    try:
        return int(name[:2], 16)
    except ValueError:
        return 0


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*$")
_GROUP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_subset(text: str) -> ReadSubset:
    """Parse ``P%`` (0 < P <= 100) or ``n/t`` (1 <= n <= t)."""
    m = _PERCENT.match(text)
    if m:
        percent = float(m.group(1))
        if not 0 < percent <= 100:
            raise UsageError(
                _(
                    "read-data subset {value}: the percentage must be above 0 and at most 100"
                ).format(value=text)
            )
        return ReadSubset(text=text, percent=percent)
    m = _GROUP.match(text)
    if m:
        group, groups = int(m.group(1)), int(m.group(2))
        if not 1 <= group <= groups:
            raise UsageError(
                _("read-data subset {value}: n/t needs 1 <= n <= t, e.g. 1/5").format(value=text)
            )
        return ReadSubset(text=text, group=group, groups=groups)
    raise UsageError(
        _("read-data subset {value!r} is not understood").format(value=text),
        hint=_("give a percentage such as 10% or a group n/t such as 1/5"),
    )


# --- the result --------------------------------------------------------------------------------

DAMAGE_KINDS = ("config", "keys", "index", "snapshots", "packs", "trees", "blobs")


@dataclass
class CheckResult:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # What is damaged, by kind (see DAMAGE_KINDS) -> sorted ids (hex).
    damaged: dict[str, list[str]] = field(default_factory=dict)
    # Snapshot id -> paths that cannot be restored from it. A path ending in '/' is a
    # directory whose listing is lost (with everything below it); '/' is the whole snapshot.
    affected: dict[str, list[str]] = field(default_factory=dict)
    # What was looked at: keys, index_files, snapshots, packs, trees, blob_refs,
    # packs_read, bytes_read.
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": self.errors,
            "warnings": self.warnings,
            "damaged": self.damaged,
            "affected": self.affected,
            "checked": self.checked,
        }


# --- opening a repository whose config may be damaged ------------------------------------------


def _config_checksum_ok(data: bytes) -> bool:
    try:
        body = json.loads(data)
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    checksum = body.pop("checksum", None)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return bool(checksum == hashlib.sha256(canonical.encode()).hexdigest())


def read_config_for_check(backend: Backend) -> RepoConfig | None:
    """The config, or None when it is damaged; ``check`` then reports it and goes on.

    A missing config (no repository) and a config that is intact but of a newer format
    version still raise, since checking those with this Cadang would make no sense.
    """
    try:
        return Repository.read_config(backend)
    except IntegrityError:
        return None
    except UnsupportedFormatError:
        if _config_checksum_ok(backend.load(FileType.CONFIG, "config")):
            raise
        return None


def open_for_check(backend: Backend, passphrase: str, config: RepoConfig | None) -> Repository:
    """Open without the index; with a damaged config, a stand-in keeps the check going."""
    master, repo_id, key_id = keys.open_with_passphrase(backend, passphrase)
    if config is None or config.id != repo_id:
        config = RepoConfig(id=repo_id)  # the check reports the real config's problem
    return Repository(backend, config, master, key_id)


# --- the checker ---------------------------------------------------------------------------------


def _expected_pack_size(entries: list[PackedBlob]) -> int:
    header = msgpack.packb(
        [[int(e.type), e.id, e.length, e.raw_length] for e in entries], use_bin_type=True
    )
    return sum(e.length for e in entries) + OVERHEAD + len(header) + _TRAILER_SIZE


# A pack's entries are kept as rows of this struct (45 bytes a blob rather than ~200 for
# PackedBlob objects), so checking a repository of millions of blobs stays small.
_ROW = struct.Struct("<IIIB32s")  # offset, length, raw length, type, id


def _rows(entries: Iterable[PackedBlob]) -> bytes:
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


def _show_ids(ids: Iterable[str]) -> str:
    ids = sorted(ids)
    shown = ", ".join(ids[:_SHOW_IDS])
    return shown + (", ..." if len(ids) > _SHOW_IDS else "")


def _named(template: str, name: str, exc: Exception) -> str:
    """The error's own message when it already names the file, else the template's."""
    reason = str(exc)
    return reason if name in reason else template.format(id=name, reason=reason)


def _show_path(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace") or "/"


@dataclass
class _PackReadResult:
    pack: str
    size: int
    name_ok: bool
    bad: list[tuple[bytes, str]]  # (blob id, reason)
    total: int
    error: str | None = None  # the pack could not be read at all


class _Frame:
    __slots__ = ("path", "pending", "tainted", "tree_id")

    def __init__(self, tree_id: bytes, path: bytes) -> None:
        self.tree_id = tree_id
        self.path = path
        self.pending: list[tuple[bytes, bytes]] = []
        self.tainted = False


class Checker:
    """One check of one repository: ``Checker(repo).check(...)``; open ``repo`` without
    its index (:func:`open_for_check`), since the checker reads index files one by one."""

    def __init__(
        self,
        repo: Repository,
        progress: CheckProgress | None = None,
        workers: int = 2,
        rng: random.Random | None = None,
    ) -> None:
        self.repo = repo
        self.backend = repo.backend
        self.progress: CheckProgress = progress or _NoProgress()
        self.workers = workers
        self.rng = rng or random.SystemRandom()
        self.result = CheckResult()
        self._damaged: dict[str, set[str]] = {k: set() for k in DAMAGE_KINDS}
        self.index = Index()
        self._pack_rows: dict[str, bytes] = {}  # pack -> its entries, see _rows
        self._pack_source: dict[str, str] = {}  # pack -> index file that names it
        self._snapshots: list[Snapshot] = []
        self._backend_packs: dict[str, int] = {}
        self._suspect: dict[str, str] = {}  # pack -> what is wrong with it
        self._orphans: dict[str, list[PackedBlob] | str] = {}  # pack -> header or error
        self._orphan_blobs: dict[bytes, tuple[str, PackedBlob]] = {}  # blob -> where
        self._bad_copies: set[tuple[str, bytes]] = set()  # (pack, blob id) unreadable
        self._missing_blobs: set[bytes] = set()  # data blobs used, but in no readable index
        self._missing_trees: set[bytes] = set()
        self._bad_trees: set[bytes] = set()
        self._tainted: dict[bytes, bool] = {}

    # --- helpers -------------------------------------------------------------------------
    def _error(self, message: str) -> None:
        self.result.errors.append(message)

    def _warn(self, message: str) -> None:
        self.result.warnings.append(message)

    def _count(self, what: str, n: int = 1) -> None:
        self.result.checked[what] = self.result.checked.get(what, 0) + n

    def _map(self, fn: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
        items = list(items)
        if len(items) < 2 or self.workers < 2:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(self.workers, thread_name_prefix="check") as pool:
            return list(pool.map(fn, items))

    # --- entry point -----------------------------------------------------------------------
    def check(self, read_data: bool = False, subset: ReadSubset | None = None) -> CheckResult:
        for what in (
            "keys",
            "index_files",
            "snapshots",
            "packs",
            "trees",
            "blob_refs",
            "packs_read",
            "bytes_read",
        ):
            self.result.checked[what] = 0
        self._check_config()
        self._check_keys()
        self._load_index()
        self._load_snapshots()
        self._check_packs()
        self._read_packs(read_data, subset)
        self._check_trees()
        self._map_damage()
        self._check_unreferenced()
        self._check_locks()
        self.result.damaged = {k: sorted(v) for k, v in self._damaged.items() if v}
        return self.result

    # --- 1. config ---------------------------------------------------------------------------
    def _check_config(self) -> None:
        try:
            data = self.backend.load(FileType.CONFIG, "config")
        except CadangError as exc:
            self._damaged["config"].add("config")
            self._error(_("the config cannot be read: {reason}").format(reason=exc))
            return
        try:
            config = RepoConfig.from_bytes(data)
        except (IntegrityError, UnsupportedFormatError) as exc:
            self._damaged["config"].add("config")
            self._error(_("the config is damaged: {reason}").format(reason=exc))
            return
        # The checksum covers the settings, not the layout: a flipped byte in the whitespace
        # still parses, so the bytes must also be exactly what Cadang writes.
        canonical = (json.dumps(json.loads(data), sort_keys=True, indent=2) + "\n").encode()
        if canonical != data:
            self._damaged["config"].add("config")
            self._error(
                _(
                    "the config is damaged: its bytes differ from what Cadang wrote, "
                    "although its settings still match their checksum"
                )
            )
        if config.id != self.repo.config.id:
            self._damaged["config"].add("config")
            self._error(
                _(
                    "the config names repository {config_id}, but the key belongs to {key_id}"
                ).format(config_id=config.id, key_id=self.repo.config.id)
            )

    # --- 2. keys -------------------------------------------------------------------------------
    def _check_keys(self) -> None:
        for name in self.repo.list_files(FileType.KEY):
            self._count("keys")
            try:
                keys.key_info(name, self.backend.load(FileType.KEY, name))
            except CadangError as exc:
                self._damaged["keys"].add(name)
                self._error(_named(_("key file {id} is damaged: {reason}"), name, exc))

    # --- 3. index files --------------------------------------------------------------------
    def _load_index(self) -> None:
        names = self.repo.list_files(FileType.INDEX)

        def one(name: str) -> dict[str, list[PackedBlob]] | CadangError:
            try:
                return self.repo.load_index_file(name)
            except CadangError as exc:
                return exc

        for name, packs in zip(names, self._map(one, names), strict=True):
            self._count("index_files")
            if isinstance(packs, CadangError):
                self._damaged["index"].add(name)
                self._error(_named(_("index file {id} is damaged: {reason}"), name, packs))
                continue
            for pack, entries in packs.items():
                known = self._pack_rows.get(pack)
                if known is None:
                    self._pack_rows[pack] = _rows(entries)
                    self._pack_source[pack] = name
                    self.index.add_pack(pack, entries)
                elif known != _rows(entries):
                    self._damaged["index"].add(name)
                    self._error(
                        _(
                            "index files {first} and {second} describe pack {pack} differently"
                        ).format(first=self._pack_source[pack], second=name, pack=pack)
                    )
        len(self.index)  # merge now, before the lookups

    # --- 4. snapshots ------------------------------------------------------------------------
    def _load_snapshots(self) -> None:
        for name in self.repo.list_files(FileType.SNAPSHOT):
            self._count("snapshots")
            try:
                self._snapshots.append(load_snapshot(self.repo, name))
            except CadangError as exc:
                self._damaged["snapshots"].add(name)
                self._error(_named(_("snapshot file {id} is damaged: {reason}"), name, exc))
        self._snapshots.sort(key=lambda s: (s.time, s.id))

    # --- 5. pack structure -------------------------------------------------------------------
    def _read_header(self, pack: str, size: int) -> list[PackedBlob]:
        tail = self.backend.load(FileType.PACK, pack, size - _TRAILER_SIZE, _TRAILER_SIZE)
        length = header_length(tail, size, pack)
        sealed = self.backend.load(FileType.PACK, pack, size - _TRAILER_SIZE - length, length)
        return parse_header(self.repo.cipher, sealed, pack)

    def _pack_problem(self, pack: str) -> str | None:
        """What is wrong with an indexed pack's structure, or None."""
        entries = _entries(self._pack_rows[pack])
        size = self._backend_packs[pack]
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
        if _rows(header) != self._pack_rows[pack]:
            return _("its header does not match the index")
        return None

    def _check_packs(self) -> None:
        self._backend_packs = dict(self.backend.list(FileType.PACK))
        indexed = sorted(self._pack_rows)
        present = [p for p in indexed if p in self._backend_packs]
        for pack in indexed:
            self._count("packs")
            if pack not in self._backend_packs:
                self._damaged["packs"].add(pack)
                entries = _entries(self._pack_rows[pack])
                self._bad_copies.update((pack, e.id) for e in entries)
                self._error(
                    _(
                        "pack {pack} is missing: the {n} blob(s) the index lists in it are lost"
                    ).format(pack=pack, n=len(entries))
                )
        for pack, problem in zip(present, self._map(self._pack_problem, present), strict=True):
            if problem is not None:
                self._suspect[pack] = problem

        orphans = sorted(set(self._backend_packs) - set(self._pack_rows))

        def header(pack: str) -> list[PackedBlob] | str:
            try:
                return self._read_header(pack, self._backend_packs[pack])
            except CadangError as exc:
                return str(exc)

        self._orphans = dict(zip(orphans, self._map(header, orphans), strict=True))
        for pack, found in self._orphans.items():
            if not isinstance(found, str):
                for e in found:
                    self._orphan_blobs[e.id] = (pack, e)

    # --- 6. pack contents ----------------------------------------------------------------
    def _read_pack(self, pack: str) -> _PackReadResult:
        entries = _entries(self._pack_rows[pack])
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
            what = f"{'tree' if e.type is BlobType.TREE else 'data'} blob {e.id.hex()}"
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

    def _read_packs(self, read_data: bool, subset: ReadSubset | None) -> None:
        present = sorted(p for p in self._pack_rows if p in self._backend_packs)
        if subset is not None:
            selected = set(subset.select(present, self.rng))
        elif read_data:
            selected = set(present)
        else:
            selected = set()
        selected |= set(self._suspect)
        todo = sorted(selected)
        self.progress.set_totals(len(todo), sum(self._backend_packs[p] for p in todo))
        for r in self._map(self._read_pack, todo):
            self._count("packs_read")
            self._count("bytes_read", r.size)
            self._pack_verdict(r)

    def _pack_verdict(self, r: _PackReadResult) -> None:
        reasons: list[str] = []
        structure = self._suspect.get(r.pack)
        if structure is not None:
            reasons.append(structure)
        if r.error is not None:
            reasons.append(_("it cannot be read: {reason}").format(reason=r.error))
            self._bad_copies.update((r.pack, e.id) for e in _entries(self._pack_rows[r.pack]))
        else:
            if not r.name_ok and structure is None:
                reasons.append(_("its content does not match its name (SHA-256)"))
            self._bad_copies.update((r.pack, blob_id) for blob_id, _reason in r.bad)
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
        self._damaged["packs"].add(r.pack)
        self._damaged["blobs"].update(blob_id.hex() for blob_id, _reason in r.bad)
        self._error(
            _("pack {pack} is damaged: {reasons}").format(pack=r.pack, reasons="; ".join(reasons))
        )

    # --- 7. trees ------------------------------------------------------------------------
    def _blob_ok(self, blob_id: bytes, btype: BlobType) -> bool:
        entry = self.index.lookup(blob_id)
        return (
            entry is not None
            and entry.type is btype
            and (entry.pack, blob_id) not in self._bad_copies
        )

    def _read_tree(self, tree_id: bytes, pack: str, e: PackedBlob | IndexEntry) -> list[Node]:
        what = _("its blob")
        sealed = self.backend.load(FileType.PACK, pack, e.offset, e.length)
        data = self.repo.decode_blob(tree_id, sealed, e.raw_length, what, verify=True)
        return decode_tree(data, what)

    def _load_tree(self, tree_id: bytes) -> list[Node]:
        entry = self.index.lookup(tree_id)
        if entry is None:
            raise IntegrityError(_("it is not in the index"))
        if entry.type is not BlobType.TREE:
            raise IntegrityError(_("the index lists it as a data blob"))
        return self._read_tree(tree_id, entry.pack, entry)

    def _file_ok(self, node: Node) -> bool:
        size = 0
        for blob_id in node.content:
            if not self._blob_ok(blob_id, BlobType.DATA):
                return False
            entry = self.index.lookup(blob_id)
            assert entry is not None
            size += entry.raw_length
        return size == node.size

    def _where(self, path: bytes, snap: Snapshot) -> str:
        if not path:
            return _("the root of snapshot {id}").format(id=snap.short_id)
        return _("{path} in snapshot {id}").format(path=_show_path(path), id=snap.short_id)

    def _visit_tree(self, frame: _Frame, snap: Snapshot) -> None:
        """Check one tree's own entries; queue its subtrees on the frame."""
        tree_id = frame.tree_id
        self._count("trees")
        where = self._where(frame.path, snap)
        entry = self.index.lookup(tree_id)
        try:
            nodes = self._load_tree(tree_id)
        except CadangError as exc:
            self._bad_trees.add(tree_id)
            self._damaged["trees"].add(tree_id.hex())
            frame.tainted = True
            if entry is None:
                self._missing_trees.add(tree_id)
                orphan = self._orphan_blobs.get(tree_id)
                if orphan is not None:
                    self._visit_orphan_tree(frame, snap, where, *orphan)
                    return
            else:
                self._damaged["packs"].add(entry.pack)
                where = _("{where}, in pack {pack}").format(where=where, pack=entry.pack)
            self._error(
                _("tree {id} ({where}) is damaged: {reason}").format(
                    id=tree_id.hex(), where=where, reason=exc
                )
            )
            return
        self._check_nodes(frame, snap, nodes)

    def _visit_orphan_tree(
        self, frame: _Frame, snap: Snapshot, where: str, pack: str, e: PackedBlob
    ) -> None:
        """A tree no readable index lists, but a pack still holds: restore cannot find it,
        but reading it tells which blobs below it snapshots still need."""
        try:
            nodes = self._read_tree(frame.tree_id, pack, e)
        except CadangError as exc:
            self._error(
                _(
                    "tree {id} ({where}) is in no readable index, and its copy in pack {pack} is damaged: {reason}"
                ).format(id=frame.tree_id.hex(), where=where, pack=pack, reason=exc)
            )
            return
        # No error of its own: the pack's error (step 9) names it, and the paths it costs
        # are listed as affected.
        self._check_nodes(frame, snap, nodes)

    def _check_nodes(self, frame: _Frame, snap: Snapshot, nodes: list[Node]) -> None:
        for node in nodes:
            path = frame.path + b"/" + node.name
            if node.type is NodeType.FILE:
                self._count("blob_refs", len(node.content))
                if not self._check_file(node, path, snap):
                    frame.tainted = True
            elif node.type is NodeType.DIR:
                if node.subtree is None:
                    frame.tainted = True
                    self._error(
                        _("directory {where} has no tree").format(where=self._where(path, snap))
                    )
                else:
                    frame.pending.append((node.subtree, path))

    def _check_file(self, node: Node, path: bytes, snap: Snapshot) -> bool:
        """Whether the file can be restored; problems the packs do not explain are errors."""
        ok = True
        size = 0
        for blob_id in node.content:
            entry = self.index.lookup(blob_id)
            if entry is None:
                self._missing_blobs.add(blob_id)
                self._damaged["blobs"].add(blob_id.hex())
                ok = False
                continue
            size += entry.raw_length
            if entry.type is not BlobType.DATA:
                ok = False
                self._damaged["blobs"].add(blob_id.hex())
                self._error(
                    _("{where} uses blob {id} as file content, but it is a tree").format(
                        where=self._where(path, snap), id=blob_id.hex()
                    )
                )
            elif (entry.pack, blob_id) in self._bad_copies:
                ok = False  # the pack's error names it
        if ok and size != node.size:
            self._error(
                _("{where}: its chunks hold {actual} bytes, its entry says {size}").format(
                    where=self._where(path, snap), actual=size, size=node.size
                )
            )
            return False
        return ok

    def _walk(self, snap: Snapshot) -> None:
        """Depth first, each tree once; records in ``_tainted`` whether damage lies below."""
        root = snap.tree
        if root in self._tainted:
            return
        stack = [_Frame(root, b"")]
        self._visit_tree(stack[0], snap)
        active = {root}
        while stack:
            frame = stack[-1]
            if frame.pending:
                child, path = frame.pending[-1]
                if child in self._tainted or child in active:
                    frame.pending.pop()
                    frame.tainted |= self._tainted.get(child, False)
                    continue
                sub = _Frame(child, path)
                active.add(child)
                stack.append(sub)
                self._visit_tree(sub, snap)
                continue
            self._tainted[frame.tree_id] = frame.tainted
            active.discard(frame.tree_id)
            stack.pop()

    def _check_trees(self) -> None:
        for snap in self._snapshots:
            self._walk(snap)
        nowhere = [b.hex() for b in self._missing_blobs if b not in self._orphan_blobs]
        if nowhere:
            self._error(
                _("{n} blob(s) that snapshots use are in no index and in no pack: {ids}").format(
                    n=len(nowhere), ids=_show_ids(nowhere)
                )
            )

    # --- 8. consequences -----------------------------------------------------------------
    def _map_damage(self) -> None:
        for snap in self._snapshots:
            if not self._tainted.get(snap.tree, False):
                continue
            paths: list[str] = []
            stack: list[tuple[bytes, bytes]] = [(snap.tree, b"")]
            while stack:
                tree_id, prefix = stack.pop()
                if tree_id in self._bad_trees:
                    paths.append(_show_path(prefix).rstrip("/") + "/")
                    continue
                try:
                    nodes = self._load_tree(tree_id)
                except CadangError:  # it read a moment ago; count it as lost
                    paths.append(_show_path(prefix).rstrip("/") + "/")
                    continue
                for node in nodes:
                    path = prefix + b"/" + node.name
                    if node.type is NodeType.FILE:
                        if not self._file_ok(node):
                            paths.append(_show_path(path))
                    elif node.type is NodeType.DIR:
                        if node.subtree is None:
                            paths.append(_show_path(path) + "/")
                        elif self._tainted.get(node.subtree, False):
                            stack.append((node.subtree, path))
            self.result.affected[snap.id] = sorted(paths)

    # --- 9. packs no index names -----------------------------------------------------
    def _check_unreferenced(self) -> None:
        used = self._missing_blobs | self._missing_trees
        # Below a tree that cannot be read at all, nobody can tell which blobs are needed:
        # then no pack may be called garbage while index files are damaged too.
        unsure = bool(self._damaged["index"]) and bool(self._bad_trees - set(self._orphan_blobs))
        for pack, header in sorted(self._orphans.items()):
            if isinstance(header, str):
                reason = header
                needed = 0
            else:
                reason = ""
                needed = sum(1 for e in header if e.id in used)
            if needed:
                self._damaged["packs"].add(pack)
                self._error(
                    _(
                        "pack {pack} is in no readable index, but holds {n} blob(s) that "
                        "snapshots use; do not prune: the index must be rebuilt first"
                    ).format(pack=pack, n=needed)
                )
            elif self._damaged["index"] and (unsure or reason):
                self._warn(
                    _(
                        "pack {pack} is not referenced by any readable index; index files are "
                        "damaged, so keep it (do not prune) until the index is rebuilt"
                    ).format(pack=pack)
                    + (f" ({reason})" if reason else "")
                )
            elif reason:
                self._warn(
                    _(
                        "pack {pack} is not referenced by any index and its header is unreadable "
                        "(prune removes it): {reason}"
                    ).format(pack=pack, reason=reason)
                )
            else:
                self._warn(
                    _("pack {pack} is not referenced by any index (prune removes it)").format(
                        pack=pack
                    )
                )

    # --- 10. locks ---------------------------------------------------------------------------
    def _check_locks(self) -> None:
        try:
            locks = list(read_locks(self.repo))
        except CadangError as exc:
            self._warn(_("the locks cannot be listed: {reason}").format(reason=exc))
            return
        for info in locks:
            if isinstance(info, str):
                self._warn(
                    _("lock file {id} is unreadable ('cadang unlock' removes it)").format(id=info)
                )
            elif info.is_stale():
                self._warn(
                    _("stale lock: {lock} ('cadang unlock' removes it)").format(
                        lock=info.describe()
                    )
                )
