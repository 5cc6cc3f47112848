"""cadang key: list, add, remove and change the passphrases that open a repository.

One key per person (the Kasi, the ADB, the cryptography officer), so one person's passphrase
can be changed or revoked without telling the others a new one.

Locks: ``list`` takes none (it only reads key files). ``add`` and ``passwd`` take a shared
lock, so they run while backups do: key files are separate from data, and ``passwd`` writes
the new key before it removes the old one, so it can never leave the repository without a
key. ``remove`` takes an exclusive lock: two people removing each other's keys at the same
moment would each see the other key still present and could together remove the last two;
the exclusive lock makes removals one at a time (wait for running backups with
``--retry-lock``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from cadang.cli.common import (
    ask_password,
    kdf_from_env,
    pop_repo_options,
    print_json,
    read_password_file,
    repo_options,
    repository,
)
from cadang.errors import UsageError
from cadang.i18n import _
from cadang.repo import keys

F = TypeVar("F", bound=Callable[..., Any])


@click.group("key", help=_("Manage the keys (one passphrase per person) that open the repository."))
def command() -> None:
    pass


def _new_password(new_password_file: str | None) -> str:
    if new_password_file:
        password = read_password_file(new_password_file)
        if not password:
            raise UsageError(
                _("the new passphrase in {path} is empty").format(path=new_password_file),
                hint=_("an empty passphrase is not allowed"),
            )
        return password
    return ask_password(_("New passphrase"), confirm=True)


def _new_password_option(func: F) -> F:
    return click.option(
        "--new-password-file",
        envvar="CADANG_NEW_PASSWORD_FILE",
        type=click.Path(dir_okay=False),
        help=_(
            "Read the new passphrase from this file (env CADANG_NEW_PASSWORD_FILE); "
            "otherwise it is asked twice on the terminal."
        ),
    )(func)


@command.command("list", help=_("List the keys; '*' marks the one whose passphrase was given."))
@repo_options
@click.option("--json", "as_json", is_flag=True, help=_("Print JSON."))
def list_command(as_json: bool, **kw: Any) -> None:
    opts = pop_repo_options(kw)
    errors: list[str] = []
    with repository(opts, lock=None, load_index=False) as repo:
        infos = keys.list_keys(repo.backend, errors)
        current = repo.key_id
    if as_json:
        print_json(
            [
                {
                    "id": k.id,
                    "short_id": k.id[:8],
                    "current": k.id == current,
                    "username": k.username,
                    "hostname": k.hostname,
                    "created": k.created,
                    "label": k.label,
                }
                for k in infos
            ]
        )
    else:
        # Column titles are marked outside the f-string: the extractor does not look inside.
        titles = (_("ID"), _("User"), _("Host"), _("Created"), _("Label"))
        header = "  {:<10} {:<14} {:<16} {:<26} {}".format(*titles)
        click.echo(header)
        click.echo("-" * len(header))
        for k in infos:
            mark = "*" if k.id == current else " "
            click.echo(
                f"{mark} {k.id[:8]:<10} {k.username[:14]:<14} {k.hostname[:16]:<16} "
                f"{k.created:<26} {k.label}"
            )
        click.echo(_("{n} key(s); * is the key that opened the repository").format(n=len(infos)))
    for e in errors:
        click.echo(_("warning: {message}").format(message=e), err=True)


@command.command("add", help=_("Add a key with a new passphrase (for another person)."))
@repo_options
@_new_password_option
@click.option(
    "--label",
    default="",
    metavar="TEXT",
    help=_("Who holds the new key, e.g. 'Kasi' or 'cryptography officer'."),
)
def add_command(new_password_file: str | None, label: str, **kw: Any) -> None:
    opts = pop_repo_options(kw)
    with repository(opts, lock="shared", load_index=False) as repo:
        password = _new_password(new_password_file)
        key_id = keys.add_key(
            repo.backend, repo.master, repo.config.id, password, kdf_from_env(), label
        )
    click.echo(_("added key {id}").format(id=key_id[:8]))


@command.command(
    "remove",
    help=_(
        "Remove the key ID (the first characters of its id are enough).\n\n"
        "The last key and the key whose passphrase was given cannot be removed."
    ),
)
@repo_options
@click.argument("key_id", metavar="ID")
def remove_command(key_id: str, **kw: Any) -> None:
    opts = pop_repo_options(kw)
    with repository(opts, lock="exclusive", load_index=False) as repo:
        removed = keys.remove_key(repo.backend, key_id, repo.key_id)
    click.echo(_("removed key {id}").format(id=removed[:8]))


@command.command(
    "passwd",
    help=_(
        "Change the passphrase of the key that opened the repository.\n\n"
        "The new key is written before the old one is removed."
    ),
)
@repo_options
@_new_password_option
@click.option(
    "--label",
    default=None,
    metavar="TEXT",
    help=_("A new label for the key (default: keep the old one)."),
)
def passwd_command(new_password_file: str | None, label: str | None, **kw: Any) -> None:
    opts = pop_repo_options(kw)
    with repository(opts, lock="shared", load_index=False) as repo:
        password = _new_password(new_password_file)
        old = repo.key_id
        new = keys.change_passphrase(
            repo.backend, repo.master, repo.config.id, old, password, kdf_from_env(), label
        )
        repo.key_id = new
    click.echo(
        _("changed the passphrase: added key {new}, removed key {old}").format(
            new=new[:8], old=old[:8]
        )
    )
