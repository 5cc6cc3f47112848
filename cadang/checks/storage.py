"""The storage check: room at a repository for the coming run, and that it can be written.

The expected size of the run is what the same sources added to the repository last time
(from the run records in the state directory; the plan layer adds them up). With the
plan's ``storage_margin`` (default 2.0) the check wants ``margin * expected`` free: below
that it is a warning, below ``1 * expected`` a failure (the backup would run out of space
half-way). Without an earlier run there is nothing to compare with, and only a full
repository (less than :data:`MIN_FREE` free) fails.

For a local repository the folder must also take a write: the file system must not be
mounted read-only, and a small probe file (``.cadang-check-*``, removed at once) must be
writable — this catches permissions, quotas and a disk that is full for us even when
``statvfs`` still shows room.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from typing import Any

from cadang.backends.base import Backend, open_backend
from cadang.backends.local import LocalBackend
from cadang.checks.base import CheckKind, CheckRecord, Clock, Finding, Result, local_now, perform
from cadang.i18n import _

__all__ = ["MIN_FREE", "StorageCheck", "human_size", "write_probe"]

MIN_FREE = 1024 * 1024  # less than this is a full repository
PROBE_BYTES = 4096


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop returns


def write_probe(directory: str) -> str | None:
    """Why ``directory`` cannot be written (None: a small file was written and removed)."""
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return _("the file system is mounted read-only")
    except OSError as exc:
        return exc.strerror or str(exc)
    path = os.path.join(directory, f".cadang-check-{secrets.token_hex(4)}")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        return _explain(exc)
    try:
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return _explain(exc)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    return None


def _explain(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return _("the file system is mounted read-only")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _("no space left (or the quota is used up)")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return _("permission denied")
    return exc.strerror or str(exc)


class StorageCheck:
    kind = CheckKind.STORAGE.value

    def __init__(
        self,
        repository: str,
        location: str,
        *,
        expected: int | None,
        margin: float = 2.0,
        is_copy: bool = False,
        opener: Callable[[str], Backend] = open_backend,
        clock: Clock = local_now,
    ) -> None:
        self.repository = repository
        self.location = location
        self.expected = expected
        self.margin = margin
        self.is_copy = is_copy
        self.opener = opener
        self.clock = clock
        self.subject = _("repository {name}").format(name=repository)

    def run(self) -> CheckRecord:
        return perform(
            self.kind, self.subject, self._check, repository=self.repository, clock=self.clock
        )

    def _check(self) -> Finding:
        details: dict[str, Any] = {
            "location": self.location,
            "expected_bytes": self.expected,
            "margin": self.margin,
        }
        backend = self.opener(self.location)
        try:
            local = isinstance(backend, LocalBackend)
            if local and not os.path.isdir(self.location):
                if self.is_copy:
                    return Finding(
                        Result.SKIPPED,
                        _("{path} is not there: not checked").format(path=self.location),
                        details,
                    )
                return Finding(
                    Result.FAILED,
                    _("{path} is not there").format(path=self.location),
                    details,
                    _("mount the storage, or create the repository with 'cadang init'"),
                )
            free = backend.free_space()
        finally:
            backend.close()
        details["free_bytes"] = free
        if local:
            problem = write_probe(self.location)
            if problem is not None:
                details["writable"] = False
                return Finding(
                    Result.FAILED,
                    _("{path} cannot be written: {reason}").format(
                        path=self.location, reason=problem
                    ),
                    details,
                    _("free space or fix the mount and permissions before the backup"),
                )
            details["writable"] = True
        if free is None:
            return Finding(Result.SKIPPED, _("the storage does not tell its free space"), details)
        return self._judge(free, details)

    def _judge(self, free: int, details: dict[str, Any]) -> Finding:
        shown_free = human_size(free)
        hint = _("free space at the repository (or forget and prune old snapshots)")
        if free < MIN_FREE:
            return Finding(
                Result.FAILED,
                _("the repository's storage is full: {free} free").format(free=shown_free),
                details,
                hint,
            )
        if self.expected is None:
            return Finding(
                Result.PASSED,
                _("{free} free; no earlier run to compare with").format(free=shown_free),
                details,
            )
        want = int(self.expected * self.margin)
        details["wanted_bytes"] = want
        summary = _("{free} free; the last run added {expected}, {margin}x wanted").format(
            free=shown_free, expected=human_size(self.expected), margin=f"{self.margin:g}"
        )
        if free < self.expected:
            return Finding(
                Result.FAILED,
                summary + "; " + _("not enough for this run"),
                details,
                hint,
            )
        if free < want:
            return Finding(
                Result.WARNING,
                summary + "; " + _("less than the margin"),
                details,
                hint,
            )
        return Finding(Result.PASSED, summary, details)
