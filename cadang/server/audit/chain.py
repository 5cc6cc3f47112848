"""Checking the audit log: :func:`verify_chain` walks every entry and reports every problem.

Each entry is read once, in ``seq`` order, a batch at a time (constant memory however long
the log), and checked three ways:

- its hash is recomputed from its fields: a mismatch means the entry was edited;
- its ``seq`` follows the previous one: a gap means entries were deleted;
- its ``prev_hash`` is the previous entry's hash: a broken link means an entry was inserted,
  moved, or rewritten together with its hash.

The end of the log is compared with the anchor file (:mod:`cadang.server.audit.anchor`):
an anchor beyond the last entry means entries were removed from the end, which the chain
alone cannot show. The checker does not stop at the first problem; it keeps the first
:data:`MAX_KEPT` and counts the rest. The words are the caller's (the page and the command
line each translate :class:`Problem` in their own catalog).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cadang.server.audit.anchor import Anchor, AnchorUnreadable, anchor_path, read_anchor
from cadang.server.audit.log import GENESIS, entry_hash
from cadang.server.audit.models import AuditEntry

BATCH = 500
MAX_KEPT = 1000  # problems kept in the report; the rest are counted


class Kind(enum.StrEnum):
    CHANGED = "changed"  # seq: the stored hash is not the hash of the fields
    MISSING = "missing"  # first..last: numbers absent from the log
    UNLINKED = "unlinked"  # seq, prev: prev_hash is not the hash of entry prev
    BAD_START = "bad_start"  # seq: the first entry does not start from the genesis hash
    TRUNCATED = "truncated"  # seq (anchor), last: entries removed from the end
    ANCHOR_MISMATCH = "anchor_mismatch"  # seq: the entry the anchor names has another hash
    ANCHOR_UNREADABLE = "anchor_unreadable"  # reason
    # Notes: worth saying, not evidence of tampering.
    NO_ANCHOR = "no_anchor"  # the log has entries but the state folder no anchor
    AFTER_ANCHOR = "after_anchor"  # seq (anchor), count: entries written after the anchor


@dataclass(frozen=True)
class Problem:
    kind: Kind
    seq: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """Placeholders for the message: ``seq`` and the kind's own parameters."""
        return {"seq": self.seq, **self.params}


@dataclass
class ChainReport:
    entries: int = 0
    last_seq: int | None = None
    last_hash: str | None = None
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0  # all problems, also those beyond MAX_KEPT
    notes: list[Problem] = field(default_factory=list)
    anchor: Anchor | None = None
    anchor_file: str = ""

    @property
    def intact(self) -> bool:
        return self.problem_count == 0

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_KEPT:
            self.problems.append(problem)


class Row(NamedTuple):
    seq: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


def iter_entries(after: int = -1, batch: int = BATCH) -> Iterator[Row]:
    """Entries with ``seq > after`` in order, ``batch`` rows per query (keyset paging, so
    each query is an index range and memory stays constant)."""
    fields = ("seq", "at", "actor", "action", "target", "details", "prev_hash", "hash")
    while True:
        rows = list(
            AuditEntry.objects.filter(seq__gt=after).order_by("seq").values_list(*fields)[:batch]
        )
        for r in rows:
            yield Row(*r)
        if len(rows) < batch:
            return
        after = rows[-1][0]


def _check_entry(report: ChainReport, row: Row, prev: Row | None) -> None:
    actual = entry_hash(
        row.prev_hash, row.seq, row.at, row.actor, row.action, row.target, row.details
    )
    if actual != row.hash:
        report.add(Problem(Kind.CHANGED, row.seq))
    if prev is None:
        if row.seq > 1:
            report.add(Problem(Kind.MISSING, params={"first": 1, "last": row.seq - 1}))
        elif row.prev_hash != GENESIS:
            report.add(Problem(Kind.BAD_START, row.seq))
    elif row.seq != prev.seq + 1:
        report.add(Problem(Kind.MISSING, params={"first": prev.seq + 1, "last": row.seq - 1}))
    elif row.prev_hash != prev.hash:
        report.add(Problem(Kind.UNLINKED, row.seq, {"prev": prev.seq}))


def _walk(report: ChainReport, prev: Row | None, batch: int) -> Row | None:
    for row in iter_entries(prev.seq if prev else -1, batch):
        _check_entry(report, row, prev)
        report.entries += 1
        prev = row
    return prev


def _check_anchor(report: ChainReport, anchor: Anchor, last: Row | None) -> None:
    last_seq = last.seq if last else 0
    if anchor.seq > last_seq:
        report.add(Problem(Kind.TRUNCATED, anchor.seq, {"last": last_seq}))
        return
    if last is not None and anchor.seq == last.seq:
        stored: str | None = last.hash
    else:
        stored = AuditEntry.objects.filter(seq=anchor.seq).values_list("hash", flat=True).first()
    if stored != anchor.hash:
        report.add(Problem(Kind.ANCHOR_MISMATCH, anchor.seq))
    elif anchor.seq < last_seq:
        # Written after the last anchor update (a crash between the two, or right now).
        report.notes.append(
            Problem(Kind.AFTER_ANCHOR, anchor.seq, {"count": last_seq - anchor.seq})
        )


def verify_chain(batch: int = BATCH) -> ChainReport:
    """Check the whole log and its end against the anchor; see the module's docstring."""
    report = ChainReport(anchor_file=str(anchor_path()))
    last = _walk(report, None, batch)
    try:
        anchor = read_anchor()
    except AnchorUnreadable as exc:
        report.add(Problem(Kind.ANCHOR_UNREADABLE, params={"reason": str(exc)}))
        anchor = None
    # Entries written while we walked may already be in the anchor: read on to them first.
    if anchor is not None and anchor.seq > (last.seq if last else 0):
        last = _walk(report, last, batch)
    report.anchor = anchor
    if last is not None:
        report.last_seq, report.last_hash = last.seq, last.hash
    if anchor is None:
        if last is not None:
            report.notes.append(Problem(Kind.NO_ANCHOR))
    else:
        _check_anchor(report, anchor, last)
    return report
