"""The antivirus check: ClamAV scans what a ``files`` source is about to back up.

What is scanned is exactly what the backup would read: the source's paths, walked as the
archiver walks them (its excludes, ``one_file_system``, symbolic links not followed), regular
files only.

How ClamAV is reached (clamd over its local socket, else clamscan) and how the signatures'
age is found out is :mod:`cadang.checks.clamav`; an age above ``max_signature_age_days`` is a
warning.

What an infection does is the application's policy (``antivirus: {on_infection: ...}``):

* ``block`` (the default): the record fails and the application's backup does not run;
* ``quarantine-and-continue``: the record is a warning listing the files, which are left out
  of this run's backup (:func:`leave_out`);
* ``warn``: the record is a warning listing them; the backup runs with them.

An infection is always escalated, whatever the policy. ClamAV not installed is ``skipped``
with the Debian package to install (``failed`` when the application has ``required: true``);
a ClamAV without signatures is a warning (``failed`` when required). Neither stops the
backup: an unscanned backup is better than none.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cadang.checks.base import CheckKind, CheckRecord, Clock, Finding, Result, local_now, perform
from cadang.checks.clamav import (
    CLAMD_PACKAGE,
    CLAMD_TIMEOUT,
    CLAMSCAN_PACKAGE,
    DEFAULT_DATABASE_DIR,
    SIGNATURE_SUFFIXES,
    ClamdClient,
    ClamdError,
    Infection,
    ScanFailed,
    ScanResult,
    parse_reply,
    scan_with_clamd,
    scan_with_clamscan,
    shown,
    signature_date,
    signature_files,
    version_date,
)
from cadang.checks.config import AntivirusPolicy, ClamAVSettings, OnInfection
from cadang.i18n import _
from cadang.repo.excludes import ExcludeFilter
from cadang.sources.base import BackupSpec
from cadang.sources.config import FilesSource

__all__ = [
    "CLAMD_PACKAGE",
    "CLAMD_TIMEOUT",
    "CLAMSCAN_PACKAGE",
    "DEFAULT_DATABASE_DIR",
    "SIGNATURE_SUFFIXES",
    "AntivirusCheck",
    "ClamdClient",
    "ClamdError",
    "Infection",
    "ScanFailed",
    "ScanResult",
    "Walk",
    "exclude_pattern",
    "files_to_scan",
    "leave_out",
    "parse_reply",
    "scan_with_clamd",
    "scan_with_clamscan",
    "shown",
    "signature_date",
    "signature_files",
    "version_date",
]

_SHOWN_INFECTED = 3  # files named in the one-line summary


# --- what the backup would read -------------------------------------------------------------


@dataclass
class Walk:
    """Regular files under a files source, and what could not be looked at."""

    files: list[bytes] = field(default_factory=list)
    errors: list[tuple[bytes, str]] = field(default_factory=list)


def files_to_scan(config: FilesSource) -> Walk:
    """The regular files a backup of ``config`` reads, walked as the archiver walks."""
    walk = Walk()
    excludes = ExcludeFilter(list(config.exclude))
    roots = [os.fsencode(p) for p in config.paths]
    devices: set[int] = set()
    if config.one_file_system:
        for r in roots:
            try:
                devices.add(os.lstat(r).st_dev)
            except OSError:
                pass

    def visit(path: bytes, st: os.stat_result) -> None:
        if stat.S_ISREG(st.st_mode):
            walk.files.append(path)
        elif stat.S_ISDIR(st.st_mode):
            if devices and st.st_dev not in devices:
                return  # a mount point: the backup keeps it empty
            descend(path)

    def descend(path: bytes) -> None:
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            walk.errors.append((path, exc.strerror or str(exc)))
            return
        for entry in entries:
            if excludes.excluded(entry.path):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                walk.errors.append((entry.path, exc.strerror or str(exc)))
                continue
            visit(entry.path, st)

    for r in roots:
        try:
            st = os.lstat(r)
        except OSError as exc:
            walk.errors.append((r, exc.strerror or str(exc)))
            continue
        visit(r, st)
    return walk


# --- leaving infected files out -------------------------------------------------------------


def exclude_pattern(path: bytes) -> str:
    """An exclude pattern that matches exactly this absolute path."""
    text = os.fsdecode(path)
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def leave_out(spec: BackupSpec, paths: Iterable[bytes]) -> BackupSpec:
    """``spec`` without ``paths``: excluded, or dropped when a path is one of its roots."""
    out = [os.fsencode(os.path.abspath(os.fsdecode(p))) for p in paths]
    roots = set(out)
    return BackupSpec(
        paths=[p for p in spec.paths if os.fsencode(os.path.abspath(p)) not in roots],
        excludes=[*spec.excludes, *(exclude_pattern(p) for p in out)],
        one_file_system=spec.one_file_system,
        streams=list(spec.streams),
    )


# --- the check ------------------------------------------------------------------------------


def _install_message(command: str, package: str) -> str:
    return _(
        "ClamAV is not installed ({command} not found): install the Debian package "
        "{package} (apt-get install {package})"
    ).format(command=command, package=package)


class AntivirusCheck:
    """Scan one files source; the infected files are kept in :attr:`infected`."""

    kind = CheckKind.ANTIVIRUS.value

    def __init__(
        self,
        app: str,
        config: FilesSource,
        settings: ClamAVSettings,
        policy: AntivirusPolicy,
        *,
        clock: Clock = local_now,
    ) -> None:
        self.app = app
        self.config = config
        self.settings = settings
        self.policy = policy
        self.clock = clock
        self.subject = f"{app}/{config.name}"
        self.infected: list[Infection] = []

    @property
    def blocks(self) -> bool:
        """The backup of the application must not run."""
        return bool(self.infected) and self.policy.on_infection is OnInfection.BLOCK

    @property
    def quarantined(self) -> list[bytes]:
        """Files to leave out of this run's backup."""
        if self.policy.on_infection is OnInfection.QUARANTINE:
            return [i.path for i in self.infected]
        return []

    def run(self) -> CheckRecord:
        return perform(
            self.kind,
            self.subject,
            self._check,
            app=self.app,
            source=self.config.name,
            clock=self.clock,
        )

    def _unusable(self, summary: str, hint: str, details: dict[str, Any]) -> Finding:
        """ClamAV cannot scan: a skip or a warning, a failure when the plan requires it."""
        return Finding(
            Result.FAILED if self.policy.required else Result.WARNING,
            summary,
            details,
            hint,
        )

    def _check(self) -> Finding:
        details: dict[str, Any] = {"on_infection": self.policy.on_infection.value}
        if not self.policy.scan:
            return Finding(
                Result.SKIPPED,
                _("not scanned: scanning is turned off for this application (scan: false)"),
                details,
            )
        notes: list[str] = []
        client: ClamdClient | None = None
        sig_when: dt.datetime | None = None
        sig_from = ""
        if self.settings.clamd_socket:
            client = ClamdClient(self.settings.clamd_socket)
            try:
                client.ping()
                sig_when = version_date(client.version())
                sig_from = _("clamd's VERSION reply") if sig_when else ""
            except ClamdError as exc:
                notes.append(str(exc))
                client = None
        if client is None:
            if shutil.which("clamscan") is None:
                package = CLAMD_PACKAGE if self.settings.clamd_socket else CLAMSCAN_PACKAGE
                message = _install_message("clamscan", package)
                if notes:
                    message = "; ".join([*notes, message])
                details["notes"] = notes
                result = Result.FAILED if self.policy.required else Result.SKIPPED
                return Finding(
                    result,
                    message,
                    details,
                    _("apt-get install {package}").format(package=package),
                )
            if notes:
                notes.append(_("scanned with clamscan instead; start clamd (clamav-daemon)"))
        database = self.settings.database or DEFAULT_DATABASE_DIR
        if sig_when is None:
            sig_when, sig_from = signature_date(database)
        if client is None and not signature_files(database):
            details["database"] = database
            return self._unusable(
                _("ClamAV has no signature database in {dir}").format(dir=database),
                _(
                    "run freshclam (Debian: the clamav-freshclam service), or set "
                    "antivirus.database in the plan to a folder with signatures"
                ),
                details,
            )
        walk = files_to_scan(self.config)
        try:
            if client is not None:
                scan = scan_with_clamd(client, walk.files)
            else:
                scan = scan_with_clamscan(walk.files, self.settings.database)
        except (ClamdError, ScanFailed) as exc:
            details["notes"] = notes
            return self._unusable(
                _("the scan could not run: {reason}").format(reason=exc),
                _("check ClamAV's configuration and signatures"),
                details,
            )
        return self._judge(scan, walk, sig_when, sig_from, notes, details)

    def _judge(
        self,
        scan: ScanResult,
        walk: Walk,
        sig_when: dt.datetime | None,
        sig_from: str,
        notes: list[str],
        details: dict[str, Any],
    ) -> Finding:
        self.infected = list(scan.infected)
        not_scanned = [*walk.errors, *scan.errors]
        age = None
        if sig_when is not None:
            age = round((self.clock() - sig_when).total_seconds() / 86400, 1)
        details.update(
            engine=scan.engine,
            files_scanned=scan.scanned,
            infected=[i.to_json() for i in scan.infected],
            not_scanned=[{"path": shown(p), "reason": r} for p, r in not_scanned],
            signatures={
                "date": sig_when.isoformat(timespec="seconds") if sig_when else None,
                "age_days": age,
                "from": sig_from,
                "max_age_days": self.settings.max_signature_age_days,
            },
            notes=notes,
        )
        warnings: list[str] = list(notes)
        if age is not None and age > self.settings.max_signature_age_days:
            warnings.append(
                _("the signatures are {age} days old (more than {max}): run freshclam").format(
                    age=f"{age:.0f}", max=f"{self.settings.max_signature_age_days:g}"
                )
            )
        if not_scanned:
            warnings.append(
                _("{n} file(s) could not be scanned, e.g. {path}: {reason}").format(
                    n=len(not_scanned), path=shown(not_scanned[0][0]), reason=not_scanned[0][1]
                )
            )
        age_text = (
            _("signatures {age} day(s) old").format(age=f"{age:.0f}")
            if age is not None
            else _("age of the signatures unknown")
        )
        if not scan.infected:
            summary = _("{n} file(s) scanned with {engine}: no infection; {age}").format(
                n=scan.scanned, engine=scan.engine, age=age_text
            )
            if warnings:
                summary += "; " + "; ".join(warnings)
            return Finding(
                Result.WARNING if warnings else Result.PASSED,
                summary,
                details,
                _("update the signatures (freshclam)") if age is not None and warnings else "",
            )
        return self._infected(scan, warnings, details)

    def _infected(self, scan: ScanResult, warnings: list[str], details: dict[str, Any]) -> Finding:
        named = ", ".join(
            f"{shown(i.path)} ({i.signature})" for i in scan.infected[:_SHOWN_INFECTED]
        )
        if len(scan.infected) > _SHOWN_INFECTED:
            named += ", …"
        policy = self.policy.on_infection
        if policy is OnInfection.BLOCK:
            action = _("the backup of {app} is blocked (on_infection: block)").format(app=self.app)
            result = Result.FAILED
            details["action"] = "blocked"
        elif policy is OnInfection.QUARANTINE:
            action = _("the infected file(s) are left out of this backup")
            result = Result.WARNING
            details["action"] = "quarantined"
        else:
            action = _("backed up anyway (on_infection: warn)")
            result = Result.WARNING
            details["action"] = "warned"
        summary = _("{count} infected file(s) of {n} scanned: {files}; {action}").format(
            count=len(scan.infected), n=scan.scanned, files=named, action=action
        )
        if warnings:
            summary += "; " + "; ".join(warnings)
        return Finding(
            result,
            summary,
            details,
            _("have the files looked at and cleaned or removed at the source, then back up again"),
            escalate=True,
        )
