"""Writing to the audit log: :func:`record` is the one way in.

Entry ``n`` stores ``hash = SHA-256(prev_hash || canonical JSON of its fields)`` with
``prev_hash`` the hash of entry ``n-1`` (64 zeros for the first). Editing an entry changes
its hash; deleting one breaks the link of the next; :mod:`cadang.server.audit.chain`
checks both. Deleting the last entries leaves no next entry to break, so once the entry is
committed the newest (seq, hash) is also written to the anchor file
(:mod:`cadang.server.audit.anchor`) that the check compares the log's end with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from cadang.server.audit.anchor import safely_advance_anchor
from cadang.server.audit.models import AuditEntry

GENESIS = "0" * 64
WRITE_ATTEMPTS = 20


def entry_hash(
    prev_hash: str,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    target: str,
    details: dict[str, Any],
) -> str:
    body = json.dumps(
        {
            "seq": seq,
            "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "target": target,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def actor_name(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return str(user.get_username())


def record(
    action: str,
    *,
    user: Any = None,
    actor: str | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. ``user`` (a Django user) or ``actor`` (a name; "" is the system)."""
    name = (actor if actor is not None else actor_name(user))[:150]
    target = target[:255]
    payload = json.loads(json.dumps(details or {}, default=str))  # what the JSON field keeps
    for attempt in range(WRITE_ATTEMPTS):
        try:
            entry = _append(name, action, target, payload)
        except IntegrityError:
            # Another writer took this number first. PostgreSQL's row lock below makes the
            # second writer wait, but it then still sees the old last entry; a new attempt
            # (a new statement, so a new snapshot) sees the entry that won.
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            continue
        # After the caller's outermost commit only: a rolled-back entry must not move the
        # anchor, or the check would report entries "removed" that never were.
        transaction.on_commit(safely_advance_anchor)
        return entry
    raise AssertionError("unreachable")


def _append(name: str, action: str, target: str, payload: dict[str, Any]) -> AuditEntry:
    with transaction.atomic():  # a savepoint inside the caller's transaction: retryable
        # Serialise writers so two entries never claim the same predecessor.
        last = AuditEntry.objects.select_for_update().order_by("-seq").first()
        seq = (last.seq + 1) if last else 1
        prev = last.hash if last else GENESIS
        at = timezone.now()
        entry = AuditEntry(
            seq=seq,
            at=at,
            actor=name,
            action=action,
            target=target,
            details=payload,
            prev_hash=prev,
            hash=entry_hash(prev, seq, at, name, action, target, payload),
        )
        entry.save()
    return entry
