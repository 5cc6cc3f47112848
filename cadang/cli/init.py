"""cadang init: create a repository."""

from __future__ import annotations

from typing import Any

import click

from cadang.backends import open_backend
from cadang.cli.common import (
    ask_password,
    get_password,
    kdf_from_env,
    pop_repo_options,
    print_json,
    read_password_file,
    repo_options,
)
from cadang.errors import UsageError
from cadang.i18n import _
from cadang.repo.config import RepoConfig
from cadang.repo.repository import Repository


@click.command(
    "init", help=_("Create a new repository (asks for a passphrase twice on a terminal).")
)
@repo_options
@click.option(
    "--copy-chunker-params-from",
    "from_repo",
    metavar="DIR",
    help=_(
        "Share chunking and id secrets with this repository, so copies between them "
        "deduplicate and need not re-read data."
    ),
)
@click.option(
    "--from-password-file",
    type=click.Path(dir_okay=False),
    help=_("Passphrase file of the --copy-chunker-params-from repository."),
)
@click.option("--json", "as_json", is_flag=True, help=_("Print JSON."))
def command(
    from_repo: str | None, from_password_file: str | None, as_json: bool, **kw: Any
) -> None:
    opts = pop_repo_options(kw)
    backend = open_backend(opts.location())
    master = None
    if from_repo:
        source_pw = (
            read_password_file(from_password_file)
            if from_password_file
            else ask_password(_("Passphrase of the source repository"), confirm=False)
        )
        source = Repository.open(open_backend(from_repo), source_pw, load_index=False)
        master = source.master.with_new_encryption_key()
        source.close()
    password = get_password(opts, confirm=True, prompt=_("New repository passphrase"))
    if not password:
        raise UsageError(
            _("an empty passphrase is not allowed"),
            hint=_("CADANG_PASSWORD or the password file is empty"),
        )
    repo = Repository.init(backend, password, kdf_from_env(), RepoConfig(), master)
    repo.close()
    if as_json:
        print_json({"id": repo.config.id, "location": backend.location()})
    else:
        click.echo(
            _("created repository {id} at {location}").format(
                id=repo.config.id[:8], location=backend.location()
            )
        )
        click.echo(_("Keep the passphrase safe: without it the data cannot be read back."))
