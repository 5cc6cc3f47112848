"""Checking a repository: its structure always, the contents of its packs when asked.

Like restic's checker it never stops at the first problem. It reports every damaged config,
key, index file, snapshot, pack and tree by id, and then maps the damage to what it costs:
for every snapshot, the files whose content and the directories whose listing can no longer
be read. The steps, in order:

1. the config (its checksum, and that its bytes are exactly what Cadang writes);
2. every key file (name = SHA-256 of its bytes, valid JSON);
3. every index file, one by one, so one damaged file does not hide the others;
4. every snapshot file, then every verification record (a damaged one is an error, one of a
   snapshot that is gone a warning);
5. every pack the index names: present, of the size the index implies, with a header that
   matches the index; packs no index names are read for their header only;
6. with ``read_data`` (or a subset), every selected pack is read whole: its SHA-256 must be its
   name and every blob must decrypt, decompress and match its keyed id. A pack with a
   structural problem is always read this way, to tell which of its blobs survive;
7. every tree reachable from a snapshot decodes, and every blob it references is in the index
   with the right type;
8. the damaged and missing blobs and trees are mapped to snapshot paths;
9. packs no index names are reported, as garbage or as packs to keep;
10. stale and unreadable locks are reported.

This module is the entry point and does steps 1-4 and 10; :mod:`cadang.repo.check_packs`
does 5, 6 and 9, :mod:`cadang.repo.check_trees` 7 and 8. What to read is chosen in
:mod:`cadang.repo.check_subset`, and what is found collects in :mod:`cadang.repo.check_result`.
"""

from __future__ import annotations

import hashlib
import json
import random

from cadang.backends import Backend, FileType
from cadang.errors import CadangError, IntegrityError, UnsupportedFormatError
from cadang.i18n import _
from cadang.repo import keys
from cadang.repo.check_packs import CheckProgress, PackAuditor, pack_rows, parallel_map
from cadang.repo.check_result import DAMAGE_KINDS, CheckResult, Findings
from cadang.repo.check_subset import ReadSubset, parse_subset
from cadang.repo.check_trees import TreeAuditor
from cadang.repo.config import RepoConfig
from cadang.repo.index import Index
from cadang.repo.locks import read_locks
from cadang.repo.pack import PackedBlob
from cadang.repo.progress import NoProgress
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot, load_snapshot
from cadang.repo.verification import load_verification

__all__ = [
    "DAMAGE_KINDS",
    "CheckProgress",
    "CheckResult",
    "Checker",
    "ReadSubset",
    "open_for_check",
    "parse_subset",
    "read_config_for_check",
]


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


def _named(template: str, name: str, exc: Exception) -> str:
    """The error's own message when it already names the file, else the template's."""
    reason = str(exc)
    return reason if name in reason else template.format(id=name, reason=reason)


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
        self.progress: CheckProgress = progress or NoProgress()
        self.workers = workers
        self.rng = rng or random.SystemRandom()
        self.findings = Findings()
        self.result = self.findings.result
        self._damaged = self.findings.damaged
        self.index = Index()
        self._pack_rows: dict[str, bytes] = {}  # pack -> its entries, see pack_rows
        self._pack_source: dict[str, str] = {}  # pack -> index file that names it
        self._snapshots: list[Snapshot] = []

    # --- entry point -----------------------------------------------------------------------
    def check(self, read_data: bool = False, subset: ReadSubset | None = None) -> CheckResult:
        self.findings.start()
        self._check_config()
        self._check_keys()
        self._load_index()
        self._load_snapshots()
        self._check_verifications()
        packs = PackAuditor(self.repo, self.findings, self._pack_rows, self.progress, self.workers)
        packs.check_structure()
        packs.read_contents(read_data, subset, self.rng)
        trees = TreeAuditor(
            self.repo, self.findings, self.index, packs.bad_copies, packs.orphan_blobs
        )
        trees.check(self._snapshots)
        trees.map_damage(self._snapshots)
        packs.check_unreferenced(trees.missing_blobs | trees.missing_trees, trees.bad_trees)
        self._check_locks()
        return self.findings.finish()

    # --- 1. config ---------------------------------------------------------------------------
    def _check_config(self) -> None:
        try:
            data = self.backend.load(FileType.CONFIG, "config")
        except CadangError as exc:
            self._damaged["config"].add("config")
            self.findings.error(_("the config cannot be read: {reason}").format(reason=exc))
            return
        try:
            config = RepoConfig.from_bytes(data)
        except (IntegrityError, UnsupportedFormatError) as exc:
            self._damaged["config"].add("config")
            self.findings.error(_("the config is damaged: {reason}").format(reason=exc))
            return
        # The checksum covers the settings, not the layout: a flipped byte in the whitespace
        # still parses, so the bytes must also be exactly what Cadang writes.
        canonical = (json.dumps(json.loads(data), sort_keys=True, indent=2) + "\n").encode()
        if canonical != data:
            self._damaged["config"].add("config")
            self.findings.error(
                _(
                    "the config is damaged: its bytes differ from what Cadang wrote, "
                    "although its settings still match their checksum"
                )
            )
        if config.id != self.repo.config.id:
            self._damaged["config"].add("config")
            self.findings.error(
                _(
                    "the config names repository {config_id}, but the key belongs to {key_id}"
                ).format(config_id=config.id, key_id=self.repo.config.id)
            )

    # --- 2. keys -------------------------------------------------------------------------------
    def _check_keys(self) -> None:
        for name in self.repo.list_files(FileType.KEY):
            self.findings.count("keys")
            try:
                keys.key_info(name, self.backend.load(FileType.KEY, name))
            except CadangError as exc:
                self._damaged["keys"].add(name)
                self.findings.error(_named(_("key file {id} is damaged: {reason}"), name, exc))

    # --- 3. index files --------------------------------------------------------------------
    def _load_index(self) -> None:
        names = self.repo.list_files(FileType.INDEX)

        def one(name: str) -> dict[str, list[PackedBlob]] | CadangError:
            try:
                return self.repo.load_index_file(name)
            except CadangError as exc:
                return exc

        for name, packs in zip(names, parallel_map(one, names, self.workers), strict=True):
            self.findings.count("index_files")
            if isinstance(packs, CadangError):
                self._damaged["index"].add(name)
                self.findings.error(_named(_("index file {id} is damaged: {reason}"), name, packs))
                continue
            for pack, entries in packs.items():
                known = self._pack_rows.get(pack)
                if known is None:
                    self._pack_rows[pack] = pack_rows(entries)
                    self._pack_source[pack] = name
                    self.index.add_pack(pack, entries)
                elif known != pack_rows(entries):
                    self._damaged["index"].add(name)
                    self.findings.error(
                        _(
                            "index files {first} and {second} describe pack {pack} differently"
                        ).format(first=self._pack_source[pack], second=name, pack=pack)
                    )
        len(self.index)  # merge now, before the lookups

    # --- 4. snapshots ------------------------------------------------------------------------
    def _load_snapshots(self) -> None:
        for name in self.repo.list_files(FileType.SNAPSHOT):
            self.findings.count("snapshots")
            try:
                self._snapshots.append(load_snapshot(self.repo, name))
            except CadangError as exc:
                self._damaged["snapshots"].add(name)
                self.findings.error(_named(_("snapshot file {id} is damaged: {reason}"), name, exc))
        self._snapshots.sort(key=lambda s: (s.time, s.id))

    # --- 4b. verification records -------------------------------------------------------
    def _check_verifications(self) -> None:
        """Every record opens and parses; one of a snapshot that is gone is a warning."""
        snapshots = {s.id for s in self._snapshots} | self._damaged["snapshots"]
        for name in self.repo.list_files(FileType.VERIFICATION):
            self.findings.count("verifications")
            try:
                record = load_verification(self.repo, name)
            except CadangError as exc:
                self._damaged["verifications"].add(name)
                self.findings.error(
                    _named(_("verification record {id} is damaged: {reason}"), name, exc)
                )
                continue
            if record.snapshot not in snapshots:
                self.findings.warn(
                    _(
                        "verification record {id} is of snapshot {snapshot}, which is gone "
                        "('cadang prune' removes the record)"
                    ).format(id=name, snapshot=record.snapshot[:8])
                )

    # --- 10. locks ---------------------------------------------------------------------------
    def _check_locks(self) -> None:
        try:
            locks = list(read_locks(self.repo))
        except CadangError as exc:
            self.findings.warn(_("the locks cannot be listed: {reason}").format(reason=exc))
            return
        for info in locks:
            if isinstance(info, str):
                self.findings.warn(
                    _("lock file {id} is unreadable ('cadang unlock' removes it)").format(id=info)
                )
            elif info.is_stale():
                self.findings.warn(
                    _("stale lock: {lock} ('cadang unlock' removes it)").format(
                        lock=info.describe()
                    )
                )
