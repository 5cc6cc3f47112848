"""The plan's repositories: their passphrases, whether they are there, opening them.

A repository named in the plan carries a reference to its passphrase (``password_file`` or
``password_env``), never the passphrase itself. Opening costs one Argon2id derivation, which
is slow on purpose, so a run opens each repository once and keeps it open.
"""

from __future__ import annotations

import os

from cadang.backends import FileType, open_backend
from cadang.errors import ObjectNotFoundError, RepositoryNotFoundError, UsageError
from cadang.i18n import _
from cadang.plan.model import RepositoryRef
from cadang.repo.repository import Repository


def read_passphrase(name: str, ref: RepositoryRef) -> str:
    """The passphrase of repository ``name``, from its file or its environment variable."""
    if ref.password_file:
        path = os.path.expanduser(ref.password_file)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read().rstrip("\r\n")
        except OSError as exc:
            raise UsageError(
                _("cannot read the password file of repository {name} ({path}): {reason}").format(
                    name=name, path=path, reason=exc.strerror
                ),
                hint=_("check password_file under repositories.{name} in the plan").format(
                    name=name
                ),
            ) from exc
    else:
        var = ref.password_env or ""
        value = os.environ.get(var)
        if value is None:
            raise UsageError(
                _(
                    "the environment variable {var} (passphrase of repository {name}) is not set"
                ).format(var=var, name=name),
                hint=_("set it before running cadang, or use password_file in the plan"),
            )
        text = value
    if not text:
        raise UsageError(
            _("the passphrase of repository {name} is empty").format(name=name),
            hint=_("write the passphrase into its password file or environment variable"),
        )
    return text


def location(ref: RepositoryRef) -> str:
    return os.path.expanduser(ref.path)


def is_present(ref: RepositoryRef) -> bool:
    """The path exists and holds a repository (an external disk that is not mounted does not)."""
    path = location(ref)
    if not os.path.isdir(path):
        return False
    try:
        return open_backend(path).exists(FileType.CONFIG, "config")
    except (OSError, ObjectNotFoundError):
        return False


def open_repository(name: str, ref: RepositoryRef) -> Repository:
    """Open repository ``name`` of the plan (without its index: read it under a lock)."""
    backend = open_backend(location(ref))
    try:
        Repository.read_config(backend)
    except RepositoryNotFoundError:
        raise RepositoryNotFoundError(
            _("repository {name}: there is no repository at {path}").format(
                name=name, path=backend.location()
            ),
            hint=_(
                "create it with 'cadang init --repo {path}' (same passphrase as the plan names)"
            ).format(path=backend.location()),
        ) from None
    return Repository.open(backend, read_passphrase(name, ref), load_index=False)
