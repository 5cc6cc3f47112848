"""Repository locks: shared for backups, exclusive for prune and key changes.

A lock is a sealed JSON file under ``locks/`` naming host, pid, user, kind and the time it
was last refreshed. A holder refreshes it every few minutes; a lock is stale when it was not
refreshed for :data:`STALE_AFTER`, or when it belongs to this host and its process is gone.
Taking a lock writes it first and then looks for conflicts, so two racing takers both see
each other and both back off rather than both proceeding.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cadang.backends import FileType
from cadang.errors import CadangError, IntegrityError, LockError, ObjectNotFoundError
from cadang.i18n import _
from cadang.repo.repository import Repository

STALE_AFTER = 30 * 60.0
REFRESH_EVERY = 5 * 60.0


@dataclass(frozen=True)
class LockInfo:
    id: str
    hostname: str
    pid: int
    username: str
    exclusive: bool
    time: float  # when last refreshed, seconds since the epoch

    def is_stale(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        if now - self.time > STALE_AFTER:
            return True
        if self.hostname == socket.gethostname():
            return not _pid_alive(self.pid)
        return False

    def describe(self) -> str:
        template = (
            _("exclusive lock {id} by {user}@{host} pid {pid}, refreshed {age}s ago")
            if self.exclusive
            else _("shared lock {id} by {user}@{host} pid {pid}, refreshed {age}s ago")
        )
        return template.format(
            id=self.id[:8],
            user=self.username,
            host=self.hostname,
            pid=self.pid,
            age=int(time.time() - self.time),
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_locks(repo: Repository) -> Iterator[LockInfo | str]:
    """Every lock; an unreadable one is yielded as its name (it counts as stale)."""
    for name in repo.list_files(FileType.LOCK):
        try:
            doc = json.loads(repo.load_file(FileType.LOCK, name))
            yield LockInfo(
                name,
                str(doc["hostname"]),
                int(doc["pid"]),
                str(doc["username"]),
                bool(doc["exclusive"]),
                float(doc["time"]),
            )
        except ObjectNotFoundError:
            continue  # removed while we listed
        except (IntegrityError, ValueError, KeyError, TypeError):
            yield name


class Lock:
    def __init__(self, repo: Repository, exclusive: bool) -> None:
        self.repo = repo
        self.exclusive = exclusive
        self.name: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mutex = threading.Lock()
        self.lost = False  # set when the lock file vanished under us

    def _write(self) -> str:
        doc = {
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "username": getpass.getuser(),
            "exclusive": self.exclusive,
            "time": time.time(),
        }
        return self.repo.save_file(FileType.LOCK, json.dumps(doc).encode())

    def _conflicts(self) -> list[LockInfo]:
        out = []
        for info in read_locks(self.repo):
            if isinstance(info, str) or info.id == self.name or info.is_stale():
                continue
            if self.exclusive or info.exclusive:
                out.append(info)
        return out

    def acquire(self, wait: float = 0.0, sleep: Callable[[float], None] = time.sleep) -> None:
        deadline = time.monotonic() + wait
        delay = 0.5
        while True:
            self.name = self._write()
            conflicts = self._conflicts()
            if not conflicts:
                break
            self._remove()
            if time.monotonic() >= deadline:
                raise LockError(
                    _("the repository is locked: {locks}").format(
                        locks="; ".join(c.describe() for c in conflicts)
                    ),
                    hint=_(
                        "wait for that operation to finish, or use --retry-lock; "
                        "'cadang unlock' removes only stale locks"
                    ),
                )
            sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 10.0)
        self.repo.held_lock = self
        self._thread = threading.Thread(target=self._refresh_loop, name="lock-refresh", daemon=True)
        self._thread.start()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(REFRESH_EVERY):
            with self._mutex:
                if self._stop.is_set():
                    return
                old = self.name
                try:
                    if old and not self.repo.backend.exists(FileType.LOCK, old):
                        # Someone removed it (unlock --remove-all, or it went stale while
                        # this process was stopped): a prune may have run meanwhile, so
                        # this command must not commit anything. Writing a new lock would
                        # hide that.
                        self.lost = True
                        return
                    self.name = self._write()
                    if old:
                        self.repo.backend.remove(FileType.LOCK, old)
                except CadangError:
                    pass  # try again next round; the old lock is still fresh for a while

    def ensure_held(self) -> None:
        """Raise unless this lock has been held without a gap; called before a commit."""
        with self._mutex:
            held = (
                not self.lost
                and self.name is not None
                and self.repo.backend.exists(FileType.LOCK, self.name)
            )
        if not held:
            self.lost = True
            raise LockError(
                _(
                    "this command's lock on the repository was removed while it ran, so "
                    "nothing was committed (a prune may have run meanwhile)"
                ),
                hint=_("run the command again; 'cadang unlock' removes only stale locks"),
            )

    def _remove(self) -> None:
        if self.name is not None:
            with contextlib.suppress(ObjectNotFoundError):
                self.repo.backend.remove(FileType.LOCK, self.name)
            self.name = None

    def release(self) -> None:
        if self.repo.held_lock is self:
            self.repo.held_lock = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._mutex:
            self._remove()

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def locked(repo: Repository, exclusive: bool = False, wait: float = 0.0) -> Iterator[Lock]:
    lock = Lock(repo, exclusive)
    lock.acquire(wait)
    try:
        yield lock
    finally:
        lock.release()


def remove_stale_locks(repo: Repository, remove_all: bool = False) -> list[str]:
    """Remove stale (or, with ``remove_all``, every) lock; return the names removed."""
    removed = []
    for info in read_locks(repo):
        name = info if isinstance(info, str) else info.id
        if remove_all or isinstance(info, str) or info.is_stale():
            with contextlib.suppress(ObjectNotFoundError):
                repo.backend.remove(FileType.LOCK, name)
            removed.append(name)
    return removed


@dataclass
class UnlockResult:
    removed: list[LockInfo | str]  # a str is an unreadable lock file, named
    kept: list[LockInfo]


def unlock(repo: Repository, remove_all: bool = False, now: float | None = None) -> UnlockResult:
    """Remove stale locks (every lock with ``remove_all``); report what was removed and kept.

    An unreadable lock file counts as stale. Another host's fresh lock is kept: its process
    may still be running, and this host cannot tell.
    """
    result = UnlockResult(removed=[], kept=[])
    for info in read_locks(repo):
        if remove_all or isinstance(info, str) or info.is_stale(now):
            name = info if isinstance(info, str) else info.id
            with contextlib.suppress(ObjectNotFoundError):
                repo.backend.remove(FileType.LOCK, name)
            result.removed.append(info)
        else:
            result.kept.append(info)
    return result
