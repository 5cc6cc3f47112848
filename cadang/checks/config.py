"""Configuration of the pre-backup checks, as written in the plan file.

These models live with the checks (the plan layer re-exports them from
:mod:`cadang.plan.model`) so the checks can take them without importing the layer above.

Plan level::

    antivirus:                      # how to reach ClamAV (all optional)
      clamd_socket: /run/clamav/clamd.ctl   # scan through clamd; default: clamscan
      database: /var/lib/clamav     # clamscan --database; default: ClamAV's own
      max_signature_age_days: 7     # older signatures are a warning
    checks:
      storage_margin: 2.0           # free space wanted: 2x what the last run added
      max_latency_ms: 1000          # a slower repository is a warning

Application level::

    antivirus:
      on_infection: block           # block | quarantine-and-continue | warn
      required: false               # true: ClamAV missing is a failure, not a skip
      scan: true                    # false: this application's files are not scanned
"""

from __future__ import annotations

import enum

from pydantic import Field

from cadang.sources.config import Strict

__all__ = ["AntivirusPolicy", "CheckSettings", "ClamAVSettings", "OnInfection"]


class OnInfection(enum.StrEnum):
    """What an infected file does to its application's backup."""

    BLOCK = "block"  # the application's backup does not run
    QUARANTINE = "quarantine-and-continue"  # infected files are left out, and listed
    WARN = "warn"  # the backup runs with them; the check is a warning


class ClamAVSettings(Strict):
    clamd_socket: str | None = Field(
        None,
        description="clamd's local socket (LocalSocket in clamd.conf); without it, clamscan.",
    )
    database: str | None = Field(
        None, description="Signature folder for clamscan (--database); default: ClamAV's own."
    )
    max_signature_age_days: float = Field(
        7, gt=0, description="Signatures older than this many days are a warning."
    )


class AntivirusPolicy(Strict):
    on_infection: OnInfection = Field(
        OnInfection.BLOCK,
        description="block the backup, quarantine-and-continue (leave the files out), or warn.",
    )
    required: bool = Field(
        False, description="ClamAV missing or unusable is a failure instead of a skip."
    )
    scan: bool = Field(True, description="Scan this application's files before each backup.")


class CheckSettings(Strict):
    storage_margin: float = Field(
        2.0,
        ge=1.0,
        description="Free space wanted at a repository, as a multiple of what the last run "
        "added; below it a warning, below 1x a failure.",
    )
    max_latency_ms: float = Field(
        1000, gt=0, description="A repository slower to answer than this is a warning."
    )
