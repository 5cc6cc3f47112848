"""The network check: every repository (and every copy target) is reachable, and how fast.

Through the :class:`~cadang.backends.base.Backend` interface, so remote backends (SFTP,
S3) plug in without changes here: the latency is the time to ask whether the repository's
``config`` exists and to read it (a stat and a small read on a local disk, one or two round
trips to a remote store). Remote repositories also get a short throughput probe: up to
:data:`THROUGHPUT_BYTES` read from one pack file.

A local repository whose folder is missing, or holds no repository (an external disk that
is not mounted leaves an empty mount point), fails — or is a warning when it is a copy
target that may be unplugged (SOP 001's external disk). Slower than ``max_latency_ms`` is a
warning.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from cadang.backends.base import Backend, FileType, open_backend
from cadang.backends.local import LocalBackend
from cadang.backends.mem import MemoryBackend
from cadang.checks.base import CheckKind, CheckRecord, Clock, Finding, Result, local_now, perform
from cadang.i18n import _

__all__ = ["THROUGHPUT_BYTES", "NetworkCheck", "is_remote", "measure"]

THROUGHPUT_BYTES = 4 * 1024 * 1024
CONFIG = "config"


def is_remote(backend: Backend) -> bool:
    return not isinstance(backend, (LocalBackend, MemoryBackend))


def measure(backend: Backend, throughput: bool) -> dict[str, Any]:
    """Latency of finding and reading ``config`` (ms); with ``throughput``, MiB/s read from
    a pack. Raises what the backend raises (BackendError, OSError)."""
    t0 = time.perf_counter()
    present = backend.exists(FileType.CONFIG, CONFIG)
    size = len(backend.load(FileType.CONFIG, CONFIG)) if present else 0
    out: dict[str, Any] = {
        "latency_ms": round((time.perf_counter() - t0) * 1000, 3),
        "config_found": present,
        "config_bytes": size,
    }
    if throughput and present:
        pack = next(iter(backend.list(FileType.PACK)), None)
        if pack is not None:
            length = min(pack[1], THROUGHPUT_BYTES)
            t1 = time.perf_counter()
            got = len(backend.load(FileType.PACK, pack[0], 0, length))
            seconds = max(time.perf_counter() - t1, 1e-9)
            out["throughput_bytes"] = got
            out["throughput_mib_s"] = round(got / seconds / 2**20, 1)
    return out


class NetworkCheck:
    kind = CheckKind.NETWORK.value

    def __init__(
        self,
        repository: str,
        location: str,
        *,
        is_copy: bool = False,
        max_latency_ms: float = 1000.0,
        throughput: bool | None = None,  # None: remote backends only
        opener: Callable[[str], Backend] = open_backend,
        clock: Clock = local_now,
    ) -> None:
        self.repository = repository
        self.location = location
        self.is_copy = is_copy
        self.max_latency_ms = max_latency_ms
        self.throughput = throughput
        self.opener = opener
        self.clock = clock
        self.subject = _("repository {name}").format(name=repository)

    def run(self) -> CheckRecord:
        return perform(
            self.kind, self.subject, self._check, repository=self.repository, clock=self.clock
        )

    def _absent(self, summary: str, hint: str, details: dict[str, Any]) -> Finding:
        if self.is_copy:
            return Finding(
                Result.WARNING,
                summary + "; " + _("the copy will be skipped"),
                details,
                hint,
            )
        return Finding(Result.FAILED, summary, details, hint)

    def _check(self) -> Finding:
        details: dict[str, Any] = {"location": self.location, "copy": self.is_copy}
        backend = self.opener(self.location)
        try:
            local = isinstance(backend, LocalBackend)
            if local and not os.path.isdir(self.location):
                return self._absent(
                    _("{path} is not there").format(path=self.location),
                    _("connect and mount the disk, or fix the path in the plan")
                    if self.is_copy
                    else _("mount the storage, or create the repository with 'cadang init'"),
                    details,
                )
            throughput = is_remote(backend) if self.throughput is None else self.throughput
            details.update(measure(backend, throughput))
        finally:
            backend.close()
        if local:
            details["mounted_on"] = _mount_point(self.location)
        if not details["config_found"]:
            return self._absent(
                _("no repository at {path} (is the disk mounted?)").format(path=self.location),
                _(
                    "mount the disk, or create the repository with 'cadang init --repo {path}'"
                ).format(path=self.location),
                details,
            )
        latency = float(details["latency_ms"])
        summary = _("reachable, {ms} ms").format(
            ms=f"{latency:.2f}" if latency < 10 else f"{latency:.0f}"
        )
        if "throughput_mib_s" in details:
            summary += ", " + _("{rate} MiB/s").format(rate=details["throughput_mib_s"])
        if latency > self.max_latency_ms:
            return Finding(
                Result.WARNING,
                summary + "; " + _("slower than {max} ms").format(max=f"{self.max_latency_ms:g}"),
                details,
                _("look at the network or the disk before the backup runs long"),
            )
        return Finding(Result.PASSED, summary, details)


def _mount_point(path: str) -> str:
    p = os.path.realpath(path)
    while not os.path.ismount(p):
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return p
