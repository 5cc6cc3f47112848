"""The plan: an office's inventory of applications and how each is backed up.

One YAML file (``cadang.yaml``) is validated into these models. Unknown keys are errors
(a typo must not silently disable a backup), and secrets never live in the file: only
``password_file`` or ``password_env`` references, or the tools' own ``.pgpass`` / option
files.
"""

from __future__ import annotations

import enum

from pydantic import Field, field_validator, model_validator

from cadang.checks.config import AntivirusPolicy, CheckSettings, ClamAVSettings, OnInfection
from cadang.checks.verify_config import VerifySettings

# The source configs live with the sources (cadang.sources must not import the plan layer);
# they are re-exported here so the plan's users find every model in one place.
from cadang.sources.config import (
    NAME_PATTERN,
    CommandSource,
    FilesSource,
    MariaDBSource,
    Name,
    OracleSource,
    PostgresSource,
    Secret,
    SourceConfig,
    SQLiteSource,
    Strict,
)

__all__ = [
    "NAME_PATTERN",
    "AntivirusPolicy",
    "Application",
    "CheckSettings",
    "ClamAVSettings",
    "Classification",
    "CommandSource",
    "EscalationContact",
    "FilesSource",
    "MariaDBSource",
    "Name",
    "Naming",
    "OnInfection",
    "OracleSource",
    "Organization",
    "OverdueLimits",
    "Plan",
    "PostgresSource",
    "Priority",
    "RepositoryRef",
    "RetentionPolicy",
    "SQLiteSource",
    "Secret",
    "ServiceHooks",
    "SourceConfig",
    "Strict",
    "VerifySettings",
]


class Priority(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Classification(enum.StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"


class Organization(Strict):
    name: str = Field(min_length=1, description="The office's full name, printed on reports.")
    code: Name = Field(description="Short code used in snapshot labels, e.g. disdukcapil-bll.")


class RepositoryRef(Strict):
    path: str = Field(min_length=1, description="Repository directory (an external disk is one).")
    password_file: str | None = Field(None, description="File holding the passphrase.")
    password_env: str | None = Field(None, description="Environment variable holding it.")

    @model_validator(mode="after")
    def _one_secret(self) -> RepositoryRef:
        if not self.password_file and not self.password_env:
            raise ValueError("give password_file or password_env (never the passphrase itself)")
        return self


class Naming(Strict):
    template: str = Field(
        "{org}-{app}-{source}-{time:%Y%m%d-%H%M}",
        description="Snapshot label; fields: org, app, source, owner, priority, time.",
    )


class RetentionPolicy(Strict):
    keep_last: int = Field(0, ge=0)
    keep_hourly: int = Field(0, ge=0)
    keep_daily: int = Field(0, ge=0)
    keep_weekly: int = Field(0, ge=0)
    keep_monthly: int = Field(0, ge=0)
    keep_yearly: int = Field(0, ge=0)

    def empty(self) -> bool:
        counts = self.model_dump().values()
        return not any(counts)


def _default_retention() -> dict[Priority, RetentionPolicy]:
    return {
        Priority.DAILY: RetentionPolicy(keep_daily=14, keep_weekly=8, keep_monthly=12),
        Priority.WEEKLY: RetentionPolicy(keep_weekly=12, keep_monthly=12, keep_yearly=2),
        Priority.MONTHLY: RetentionPolicy(keep_monthly=24, keep_yearly=5),
    }


class ServiceHooks(Strict):
    """How to stop, start and check an application's service around an in-place restore."""

    stop: str | None = Field(None, description="Command that stops the service.")
    start: str | None = Field(None, description="Command that starts it again.")
    health: str | None = Field(
        None, description="Command, or http(s):// URL that must answer 2xx, once started."
    )


class Application(Strict):
    name: Name
    owner: str = Field(min_length=1, description="The owning unit (OPD).")
    priority: Priority
    classification: Classification = Classification.INTERNAL
    repository: str | None = Field(None, description="Name under repositories; default: the first.")
    service: ServiceHooks | None = None
    antivirus: AntivirusPolicy = Field(
        default_factory=AntivirusPolicy,
        description="What an infected file found before a backup does (default: block).",
    )
    verify: VerifySettings | None = Field(
        None, description="Overrides of the plan's verify settings (only the keys given)."
    )
    sources: list[SourceConfig] = Field(min_length=1)

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        names = [s.name for s in sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique within an application: {dupes}")
        return sources


class EscalationContact(Strict):
    """Someone a failed pre-backup check is escalated to (SOP 000: the Kasi and the Kabid)."""

    name: str = Field(min_length=1)
    role: str = Field(min_length=1, description="e.g. Kasi, Kabid.")
    email: str | None = None
    phone: str | None = None


class OverdueLimits(Strict):
    """Hours after which an application's last good backup is overdue, per priority."""

    daily: float = Field(26, gt=0)
    weekly: float = Field(8 * 24, gt=0)
    monthly: float = Field(32 * 24, gt=0)

    def hours(self, priority: Priority) -> float:
        return float(getattr(self, priority.value))


class Plan(Strict):
    organization: Organization
    repositories: dict[Name, RepositoryRef] = Field(min_length=1)
    naming: Naming = Field(default_factory=Naming)
    retention: dict[Priority, RetentionPolicy] = Field(default_factory=_default_retention)
    copies: list[str] = Field(
        default_factory=list, description="Repositories to copy each run's snapshots to."
    )
    applications: list[Application] = Field(min_length=1)
    antivirus: ClamAVSettings = Field(
        default_factory=ClamAVSettings, description="How the antivirus check reaches ClamAV."
    )
    checks: CheckSettings = Field(default_factory=CheckSettings)
    escalation: list[EscalationContact] = Field(
        default_factory=list, description="Who is told when a pre-backup check fails."
    )
    state_dir: str | None = Field(
        None, description="Where records of checks and runs are kept on this host."
    )
    verify: VerifySettings = Field(
        default_factory=VerifySettings,
        description="Proof after each run that the new backups can be restored.",
    )
    overdue_after_hours: OverdueLimits = Field(
        default_factory=OverdueLimits,
        description="'cadang status': a backup older than this is overdue, per priority.",
    )

    @model_validator(mode="after")
    def _references(self) -> Plan:
        problems = []
        names = [a.name for a in self.applications]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"application names must be unique: {dupes}")
        for a in self.applications:
            if a.repository is not None and a.repository not in self.repositories:
                problems.append(f"application {a.name!r} names unknown repository {a.repository!r}")
        for c in self.copies:
            if c not in self.repositories:
                problems.append(f"copies names unknown repository {c!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def application(self, name: str) -> Application | None:
        return next((a for a in self.applications if a.name == name), None)

    def verify_settings(self, app: Application) -> VerifySettings:
        """The plan's verify settings with the application's overrides applied."""
        if app.verify is None:
            return self.verify
        given = {k: getattr(app.verify, k) for k in app.verify.model_fields_set}
        return self.verify.model_copy(update=given)

    def repository_for(self, app: Application) -> tuple[str, RepositoryRef]:
        name = app.repository or next(iter(self.repositories))
        return name, self.repositories[name]
