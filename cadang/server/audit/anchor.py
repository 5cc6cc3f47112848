"""The anchor: the newest audit entry's number and hash, kept in a file outside the database.

The hash chain shows an edited or removed entry by the entry after it; the LAST entry has
no entry after it, so removing entries from the end leaves a shorter chain that is still
whole. The anchor closes that gap: after every committed entry the server writes the
newest ``(seq, hash)`` of the log to ``audit-anchor`` in its state folder, and
:func:`cadang.server.audit.chain.verify_chain` compares the log's end with it.

The file is replaced atomically (temporary file, fsync, rename) under an exclusive lock, so
the web pages and the scheduler, writing at the same time, leave the newest value. The
anchor only moves forward along the same chain: when the log is shorter than the anchor, or
the entry the anchor names now has another hash, the anchor is left as it is, because it
is the evidence :func:`verify_chain` reports.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cadang.server.audit.models import AuditEntry
from cadang.server.lib.config import server_dir

ANCHOR_NAME = "audit-anchor"
log = logging.getLogger(__name__)


class AnchorUnreadable(Exception):
    """The anchor file exists but does not hold a (seq, hash) pair."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str


def anchor_path() -> Path:
    """Where the anchor is; looked up on each call so the state folder can change (tests)."""
    return server_dir() / ANCHOR_NAME


def read_anchor(path: Path | None = None) -> Anchor | None:
    """The anchor, or None when there is none yet; AnchorUnreadable when it is damaged."""
    path = path or anchor_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AnchorUnreadable(str(exc)) from exc
    try:
        data = json.loads(text)
        seq, digest = data["seq"], data["hash"]
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorUnreadable(f"not an anchor: {exc}") from exc
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or not isinstance(digest, str):
        raise AnchorUnreadable("not an anchor: seq or hash has the wrong type")
    return Anchor(seq=seq, hash=digest)


def write_anchor(anchor: Anchor, path: Path | None = None) -> None:
    """Replace the anchor file atomically: a crash leaves the old anchor or the new one."""
    path = path or anchor_path()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = json.dumps({"seq": anchor.seq, "hash": anchor.hash}) + "\n"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    # The rename itself must reach the disk, or a power cut could bring the old file back.
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside the anchor, held across read-compare-write."""
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _latest() -> Anchor | None:
    row = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    return Anchor(seq=row[0], hash=row[1]) if row else None


def advance_anchor() -> None:
    """Move the anchor to the newest committed entry (after a commit; see :func:`record`).

    Reads the newest entry under the lock rather than taking it from the caller, so two
    processes finishing in either order leave the true newest entry in the file.
    """
    path = anchor_path()
    with _locked(path):
        latest = _latest()
        if latest is None:
            return
        try:
            current = read_anchor(path)
        except AnchorUnreadable:
            current = None  # a damaged anchor is replaced; verify_chain reports it until then
        if current is not None and not _follows(current, latest):
            log.warning(
                "audit anchor (entry %s) does not match the log (newest entry %s); left as it is",
                current.seq,
                latest.seq,
            )
            return
        if current != latest:
            write_anchor(latest, path)


def _follows(current: Anchor, latest: Anchor) -> bool:
    """True when ``latest`` continues the chain the anchor names (same entry, same hash)."""
    if current.seq > latest.seq:
        return False  # the log lost entries at its end
    stored = AuditEntry.objects.filter(seq=current.seq).values_list("hash", flat=True).first()
    return stored == current.hash


def safely_advance_anchor() -> None:
    """:func:`advance_anchor` for an on-commit hook: the action already happened and is in
    the log, so a full disk or a lost state folder is logged, never raised at the user."""
    try:
        advance_anchor()
    except Exception:
        log.exception("could not update the audit anchor in %s", server_dir())


def reset_anchor(*, actor: str) -> tuple[Anchor | None, Anchor | None]:
    """Point the anchor at the log's newest entry, whatever it held; recorded in the log.

    For a catalog replaced on purpose (restored from a backup, moved to another database):
    the old anchor would otherwise be reported, and held still, for ever.
    """
    from cadang.server.audit.log import record  # log imports this module

    path = anchor_path()
    with _locked(path):
        try:
            old = read_anchor(path)
        except AnchorUnreadable:
            old = None
        new = _latest()
        if new is not None:
            write_anchor(new, path)
        else:
            path.unlink(missing_ok=True)
    record(
        "audit_anchor_reset",
        actor=actor,
        details={
            "old": {"seq": old.seq, "hash": old.hash} if old else None,
            "new": {"seq": new.seq, "hash": new.hash} if new else None,
        },
    )
    return old, new
