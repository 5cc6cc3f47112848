"""The antivirus check: ClamAV scans what a ``files`` source is about to back up.

What is scanned is exactly what the backup would read: the source's paths, walked as the
archiver walks them (its excludes, ``one_file_system``, symbolic links not followed), regular
files only.

Two ways to reach ClamAV:

* **clamd** (``antivirus: {clamd_socket: PATH}`` in the plan): each file is opened here and
  its descriptor passed to clamd over the local socket (``FILDES``), so clamd scans files it
  could not open itself (it usually runs as the user ``clamav``) and its signatures are
  already loaded. Fast; recommended. When clamd does not answer, clamscan is used instead and
  the record says so.
* **clamscan** otherwise: one ``clamscan --infected --no-summary --file-list=LIST`` per
  source, with ``--database=DIR`` only when the plan names one (production uses ClamAV's own
  database). clamscan loads every signature each time, which takes a while with the
  official database.

The signature database's age comes from clamd's ``VERSION`` reply, else from the header of
``daily.cvd``/``daily.cld`` (its build time), else from the newest signature file's mtime; an
age above ``max_signature_age_days`` is a warning.

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
import socket
import stat
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cadang.checks.base import CheckKind, CheckRecord, Clock, Finding, Result, local_now, perform
from cadang.checks.config import AntivirusPolicy, ClamAVSettings, OnInfection
from cadang.i18n import _
from cadang.repo.excludes import ExcludeFilter
from cadang.sources.base import BackupSpec
from cadang.sources.config import FilesSource
from cadang.sources.process import run_command

__all__ = [
    "AntivirusCheck",
    "ClamdClient",
    "ClamdError",
    "Infection",
    "ScanResult",
    "exclude_pattern",
    "files_to_scan",
    "leave_out",
    "scan_with_clamd",
    "scan_with_clamscan",
    "signature_date",
]

DEFAULT_DATABASE_DIR = "/var/lib/clamav"  # Debian's DatabaseDirectory
CLAMSCAN_PACKAGE = "clamav"
CLAMD_PACKAGE = "clamav-daemon"
SIGNATURE_SUFFIXES = frozenset(
    [
        ".cvd",
        ".cld",
        ".cud",
        ".ndb",
        ".ndu",
        ".hdb",
        ".hsb",
        ".hdu",
        ".hsu",
        ".mdb",
        ".msb",
        ".mdu",
        ".msu",
        ".ldb",
        ".ldu",
        ".idb",
        ".cdb",
        ".cbc",
        ".pdb",
        ".gdb",
        ".wdb",
        ".fp",
        ".sfp",
        ".ftm",
        ".ign",
        ".ign2",
        ".yar",
        ".yara",
        ".crb",
        ".cat",
        ".info",
    ]
)
CLAMD_TIMEOUT = 300.0  # seconds for clamd to answer about one file
_CLAMD_THREADS = 4
_SHOWN_INFECTED = 3  # files named in the one-line summary


def shown(path: bytes) -> str:
    """A path for messages and JSON (bytes that are not UTF-8 as \\x.. escapes)."""
    return path.decode("utf-8", "backslashreplace")


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


# --- scanning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Infection:
    path: bytes
    signature: str

    def to_json(self) -> dict[str, str]:
        return {"path": shown(self.path), "signature": self.signature}


@dataclass
class ScanResult:
    engine: str  # "clamd" or "clamscan"
    scanned: int = 0
    infected: list[Infection] = field(default_factory=list)
    errors: list[tuple[bytes, str]] = field(default_factory=list)  # not scanned, and why


class ClamdError(Exception):
    """clamd could not be reached or did not answer as expected."""


class ClamdClient:
    """A small client of clamd's local socket (the ``z``-prefixed, NUL-terminated commands)."""

    def __init__(self, socket_path: str, timeout: float = CLAMD_TIMEOUT) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def _command(self, command: bytes, fd: int | None = None) -> str:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(self.timeout)
                s.connect(self.socket_path)
                s.sendall(b"z" + command + b"\0")
                if fd is not None:  # FILDES: the descriptor travels with one dummy byte
                    socket.send_fds(s, [b"\0"], [fd])
                reply = b""
                while not reply.endswith(b"\0"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
        except OSError as exc:
            raise ClamdError(
                _("clamd at {socket} did not answer: {reason}").format(
                    socket=self.socket_path, reason=exc.strerror or exc
                )
            ) from None
        if not reply:
            raise ClamdError(
                _("clamd at {socket} closed the connection without an answer").format(
                    socket=self.socket_path
                )
            )
        return reply.rstrip(b"\0").decode("utf-8", "replace").strip()

    def ping(self) -> None:
        reply = self._command(b"PING")
        if reply != "PONG":
            raise ClamdError(
                _("clamd at {socket} answered {reply!r} to PING").format(
                    socket=self.socket_path, reply=reply
                )
            )

    def version(self) -> str:
        """E.g. ``ClamAV 1.4.6/27459/Fri Nov 15 09:39:00 2024`` (the last part: signatures)."""
        return self._command(b"VERSION")

    def scan_file(self, path: bytes) -> tuple[str, str]:
        """``("OK", "")``, ``("FOUND", signature)`` or ``("ERROR", message)`` for one file."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NOCTTY)
        except OSError as exc:
            return "ERROR", exc.strerror or str(exc)
        try:
            reply = self._command(b"FILDES", fd)
        finally:
            os.close(fd)
        return parse_reply(reply)


def parse_reply(line: str) -> tuple[str, str]:
    """clamd's or clamscan's verdict on one file: ``NAME: OK``, ``NAME: SIG FOUND``, ``NAME:
    MESSAGE ERROR``."""
    _name, sep, verdict = line.rpartition(": ")
    if not sep:
        return "ERROR", line
    if verdict.endswith(" FOUND"):
        return "FOUND", verdict[: -len(" FOUND")]
    if verdict == "OK":
        return "OK", ""
    if verdict.endswith(" ERROR"):
        return "ERROR", verdict[: -len(" ERROR")]
    return "ERROR", verdict


def version_date(reply: str) -> dt.datetime | None:
    """The signatures' date in clamd's VERSION reply, when it has one."""
    parts = reply.split("/")
    if len(parts) < 3:
        return None
    try:
        return dt.datetime.strptime(parts[2].strip(), "%a %b %d %H:%M:%S %Y").astimezone()
    except ValueError:
        return None


def scan_with_clamd(client: ClamdClient, files: list[bytes]) -> ScanResult:
    result = ScanResult("clamd")
    with ThreadPoolExecutor(_CLAMD_THREADS) as pool:
        for path, (status, text) in zip(files, pool.map(client.scan_file, files), strict=True):
            if status == "FOUND":
                result.infected.append(Infection(path, text))
                result.scanned += 1
            elif status == "OK":
                result.scanned += 1
            else:
                result.errors.append((path, text))
    return result


class ScanFailed(Exception):
    """The scanner could not run at all (no signatures, a bad database folder, ...)."""


def scan_with_clamscan(files: list[bytes], database: str | None) -> ScanResult:
    result = ScanResult("clamscan")
    listed = [p for p in files if b"\n" not in p]
    for p in files:
        if b"\n" in p:
            result.errors.append((p, _("the name contains a line break")))
    if not listed:
        return result
    fd, list_file = tempfile.mkstemp(prefix="cadang-scan-", suffix=".list")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"".join(p + b"\n" for p in listed))
        argv = ["clamscan", "--infected", "--no-summary", "--stdout", "--file-list=" + list_file]
        if database:
            argv.insert(1, "--database=" + database)
        done = run_command(argv, timeout=None)
    finally:
        os.unlink(list_file)
    for raw in done.raw_stdout.splitlines():
        line = raw.decode("utf-8", "surrogateescape")
        status, text = parse_reply(line)
        name = os.fsencode(line.rpartition(": ")[0])
        if status == "FOUND":
            result.infected.append(Infection(name, text))
        elif status == "ERROR" and name:
            result.errors.append((name, text))
    if done.code not in (0, 1) and not result.infected and not result.errors:
        raise ScanFailed(done.message)
    result.scanned = len(listed) - len(result.errors)
    return result


# --- the signature database -----------------------------------------------------------------


def _cvd_time(path: str) -> dt.datetime | None:
    """The build time in a .cvd/.cld header (``ClamAV-VDB:date:version:sigs:level:md5:
    dsig:builder:stime``, 512 bytes)."""
    try:
        with open(path, "rb") as f:
            header = f.read(512).decode("ascii", "replace")
    except OSError:
        return None
    fields = header.split(":")
    if len(fields) < 9 or fields[0] != "ClamAV-VDB":
        return None
    try:
        return dt.datetime.fromtimestamp(int(fields[8].strip("\0 ").split()[0]), dt.UTC)
    except (ValueError, IndexError, OverflowError):
        return None


def signature_files(directory: str) -> list[str]:
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [
        os.path.join(directory, n)
        for n in sorted(names)
        if os.path.splitext(n)[1].lower() in SIGNATURE_SUFFIXES
        and os.path.isfile(os.path.join(directory, n))
    ]


def signature_date(directory: str) -> tuple[dt.datetime | None, str]:
    """When the signatures in ``directory`` were made, and how that was found out."""
    for name in ("daily.cld", "daily.cvd"):
        when = _cvd_time(os.path.join(directory, name))
        if when is not None:
            return when, _("build time of {file}").format(file=name)
    newest: float | None = None
    for path in signature_files(directory):
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            continue
        newest = mtime if newest is None else max(newest, mtime)
    if newest is None:
        return None, ""
    return dt.datetime.fromtimestamp(newest, dt.UTC), _("newest signature file in {dir}").format(
        dir=directory
    )


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
