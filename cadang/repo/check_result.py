"""What a check finds: errors, warnings, damaged ids by kind, affected paths and counts.

:class:`CheckResult` is what :class:`~cadang.repo.checker.Checker` returns and what
``cadang check --json`` prints. :class:`Findings` is the notebook every step of a check
writes into while it runs; it turns into the result at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The kinds of damage a check names, each with the ids (hex, or file names) it found damaged.
DAMAGE_KINDS = (
    "config", "keys", "index", "snapshots", "packs", "trees", "blobs", "verifications",
)  # fmt: skip

# What a check counts, each reported even when zero.
CHECKED = (
    "keys",
    "index_files",
    "snapshots",
    "packs",
    "trees",
    "blob_refs",
    "packs_read",
    "bytes_read",
    "verifications",
)


@dataclass
class CheckResult:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # What is damaged, by kind (see DAMAGE_KINDS) -> sorted ids (hex).
    damaged: dict[str, list[str]] = field(default_factory=dict)
    # Snapshot id -> paths that cannot be restored from it. A path ending in '/' is a
    # directory whose listing is lost (with everything below it); '/' is the whole snapshot.
    affected: dict[str, list[str]] = field(default_factory=dict)
    # What was looked at: keys, index_files, snapshots, packs, trees, blob_refs,
    # packs_read, bytes_read, verifications.
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": self.errors,
            "warnings": self.warnings,
            "damaged": self.damaged,
            "affected": self.affected,
            "checked": self.checked,
        }


class Findings:
    """What a running check has found so far; :meth:`finish` makes it a :class:`CheckResult`."""

    def __init__(self) -> None:
        self.result = CheckResult()
        self.damaged: dict[str, set[str]] = {k: set() for k in DAMAGE_KINDS}

    def start(self) -> None:
        for what in CHECKED:
            self.result.checked[what] = 0

    def error(self, message: str) -> None:
        self.result.errors.append(message)

    def warn(self, message: str) -> None:
        self.result.warnings.append(message)

    def count(self, what: str, n: int = 1) -> None:
        self.result.checked[what] = self.result.checked.get(what, 0) + n

    def finish(self) -> CheckResult:
        self.result.damaged = {k: sorted(v) for k, v in self.damaged.items() if v}
        return self.result
