"""Talking to ClamAV: the clamd socket client, clamscan, and the signatures' age.

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

The antivirus check that uses all this is :mod:`cadang.checks.antivirus`.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from cadang.i18n import _
from cadang.sources.process import run_command

__all__ = [
    "CLAMD_PACKAGE",
    "CLAMD_TIMEOUT",
    "CLAMSCAN_PACKAGE",
    "DEFAULT_DATABASE_DIR",
    "SIGNATURE_SUFFIXES",
    "ClamdClient",
    "ClamdError",
    "Infection",
    "ScanFailed",
    "ScanResult",
    "parse_reply",
    "scan_with_clamd",
    "scan_with_clamscan",
    "shown",
    "signature_date",
    "signature_files",
    "version_date",
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


def shown(path: bytes) -> str:
    """A path for messages and JSON (bytes that are not UTF-8 as \\x.. escapes)."""
    return path.decode("utf-8", "backslashreplace")


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
