"""One error tree for the whole product.

Every error a user can meet is a subclass of :class:`CadangError` with a message and an exit
code; the command line turns them into a one-line message and that exit code. Lower
libraries' exceptions are mapped to these at the boundary where they occur.

Exit codes follow restic where it has one: 1 fatal, 2 usage, 3 partial backup,
10 repository missing, 11 lock failure, 12 wrong password, 130 interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass


class CadangError(Exception):
    """Base of every error the product raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(CadangError):
    """The user asked for something that cannot be done as asked."""

    exit_code = 2


# --- storage backends -------------------------------------------------------------------


class BackendError(CadangError):
    """The storage under a repository failed."""


class ObjectNotFoundError(BackendError):
    """A file the repository expects is not in the backend."""


class ObjectExistsError(BackendError):
    """A file was written twice; files in a repository are immutable."""


class StorageFullError(BackendError):
    """The backend has no space left."""


class StoragePermissionError(BackendError):
    """The backend refused access."""


# --- repository ---------------------------------------------------------------------------


class RepositoryError(CadangError):
    """The repository cannot be used as asked."""


class RepositoryNotFoundError(RepositoryError):
    exit_code = 10


class RepositoryExistsError(RepositoryError):
    pass


class UnsupportedFormatError(RepositoryError):
    """The repository was written by a newer Cadang, or is not a Cadang repository."""


class WrongPasswordError(RepositoryError):
    exit_code = 12


class KeyManagementError(RepositoryError):
    """A key operation was refused (e.g. removing the last key)."""


class IntegrityError(RepositoryError):
    """Stored data does not match its name, its id or its authentication tag."""


class LockError(RepositoryError):
    """The repository is locked by another process."""

    exit_code = 11


class SnapshotNotFoundError(RepositoryError):
    pass


class AmbiguousSnapshotError(RepositoryError):
    pass


class PathNotFoundError(RepositoryError):
    """A path was asked for that the snapshot does not contain."""


class RestoreError(RepositoryError):
    """A restore could not write what it was asked to."""


class PartialBackupError(CadangError):
    """The snapshot was written but some files could not be read."""

    exit_code = 3


class SourceError(CadangError):
    """What was to be backed up could not be read (a dump command failed, ...)."""


class CommandFailedError(SourceError):
    """A command whose output is the backup exited with an error."""


class CheckFailedError(CadangError):
    """`check` found damage."""


class Interrupted(CadangError):
    exit_code = 130


# --- the plan file --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanProblem:
    """One problem of a plan file, where it is (1-based line and column; 0 when unknown)."""

    file: str
    line: int
    column: int
    message: str
    hint: str | None = None
    severity: str = "error"  # "error" or "warning"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def location(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    def __str__(self) -> str:
        from cadang.i18n import _

        text = f"{self.location()}: "
        if not self.is_error:
            text += _("warning: {message}").format(message=self.message)
        else:
            text += self.message
        if self.hint:
            text += " " + _("(hint: {hint})").format(hint=self.hint)
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


class PlanError(UsageError):
    """The plan file cannot be used; ``problems`` lists every problem found, not just the first."""

    exit_code = 2

    def __init__(self, message: str, problems: list[PlanProblem], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.problems = problems
