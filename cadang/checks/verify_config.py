"""The ``verify:`` settings of the plan (see :mod:`cadang.checks.verify`).

They live with the checks, like the other check settings, so the checks take them without
importing the plan layer; :mod:`cadang.plan.model` re-exports them. Plan level, and per
application (only the keys given there override the plan's)::

    verify:
      after_run: true          # verify every snapshot a run writes
      restore_test: true       # restore databases / a sample of files and compare
      sample_files: 50         # files of a files source restored per test
      sample_mib: 64           # at most this many MiB of them
      row_tolerance: 0.1       # row counts recorded as estimates may differ by 10%
"""

from __future__ import annotations

from pydantic import Field

from cadang.sources.config import Strict

__all__ = ["VerifySettings"]


class VerifySettings(Strict):
    """The ``verify:`` section of the plan (plan level; an application may override any key)."""

    after_run: bool = Field(
        True, description="Verify each snapshot a run writes (read-back, then restore test)."
    )
    restore_test: bool = Field(
        True,
        description="Restore databases into a throw-away database and a sample of files "
        "into a temporary folder, and compare.",
    )
    sample_files: int = Field(50, ge=1, description="Files restored by a files restore test.")
    sample_mib: float = Field(64, gt=0, description="At most this many MiB of them.")
    row_tolerance: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Row counts recorded as estimates may differ by this fraction.",
    )
