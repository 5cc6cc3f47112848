"""Importing a plan file into the catalog, with the run history the command line kept.

The file is read by the same loader as ``cadang plan check`` (a plan with any problem is
refused whole, :class:`~cadang.errors.PlanError` listing them all); the run reports in the
plan's state directory become runs with their forms (:mod:`cadang.server.inventory.history`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from cadang.i18n import _
from cadang.plan.loader import load_plan
from cadang.plan.state import open_state
from cadang.server.audit.log import record
from cadang.server.inventory.catalog import StoreResult, store_plan
from cadang.server.inventory.history import HistoryResult, import_history


@dataclass
class ImportResult:
    file: str
    applications: StoreResult
    history: HistoryResult = field(default_factory=HistoryResult)

    @property
    def counts(self) -> dict[str, int]:
        a = self.applications
        return {
            "added": len(a.added),
            "updated": len(a.updated),
            "unchanged": len(a.unchanged),
            "deactivated": len(a.deactivated),
            "removed": len(a.removed),
            "runs_imported": self.history.runs,
        }

    def summary(self) -> str:
        """One line for the command line (``cadang serve --plan``)."""
        c = self.counts
        return _(
            "imported the plan {file}: {added} application(s) added, {updated} updated, "
            "{unchanged} unchanged, {removed} removed; {runs} run(s) imported from the "
            "history"
        ).format(
            file=self.file,
            added=c["added"],
            updated=c["updated"],
            unchanged=c["unchanged"],
            removed=c["deactivated"] + c["removed"],
            runs=c["runs_imported"],
        )


def import_plan_file(path: str, actor: str = "", user: Any = None) -> ImportResult:
    """Load ``path`` (PlanError on any problem), store it, import the run history.

    ``user`` is the person importing from the web; ``actor`` names who did it otherwise
    ("" is the system, e.g. ``cadang serve --plan``).
    """
    file = os.path.abspath(path)
    plan = load_plan(file)
    stored = store_plan(plan, source_file=file, user=user)
    history = import_history(open_state(plan).load_run_reports())
    result = ImportResult(file=file, applications=stored, history=history)
    record(
        "plan_imported",
        user=user,
        actor=None if user is not None else actor,
        target=file,
        details={
            **result.counts,
            "added_names": stored.added,
            "updated_names": stored.updated,
            "deactivated_names": stored.deactivated,
            "removed_names": stored.removed,
        },
    )
    return result
