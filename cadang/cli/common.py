"""What every command shares: repository options, passphrases, locks, output."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cadang.backends import open_backend
from cadang.errors import UsageError
from cadang.i18n import _
from cadang.repo import keys
from cadang.repo.locks import locked
from cadang.repo.repository import Repository

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from cadang.plan.model import Plan


@dataclass
class GlobalOptions:
    """Options of the ``cadang`` group itself, kept in ``ctx.obj``."""

    config: str | None = None  # -c/--config: the plan file


def require_plan_file(ctx: click.Context) -> str:
    """The plan file given with -c/--config (or CADANG_CONFIG); a usage error without one."""
    opts = ctx.find_object(GlobalOptions)
    if opts is None or not opts.config:
        raise UsageError(
            _("this command needs a plan: cadang -c cadang.yaml {command}").format(
                command=ctx.command_path.split(" ", 1)[-1]
            ),
            hint=_(
                "give the plan file with -c FILE or CADANG_CONFIG; 'cadang plan init' writes an example"
            ),
        )
    return opts.config


def require_plan(ctx: click.Context) -> Plan:
    """The validated plan of -c/--config; every problem in it raises one PlanError."""
    from cadang.plan.loader import load_plan

    return load_plan(require_plan_file(ctx))


@dataclass
class RepoOptions:
    repo: str | None
    password_file: str | None
    retry_lock: float

    def location(self) -> str:
        if not self.repo:
            raise UsageError(
                _("no repository given"),
                hint=_("pass --repo DIR or set CADANG_REPOSITORY"),
            )
        return self.repo


def repo_options(func: F) -> F:
    """--repo, --password-file and --retry-lock, with their environment variables."""
    func = click.option(
        "--retry-lock",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help=_("Wait up to this long for another operation's lock to go."),
    )(func)
    func = click.option(
        "--password-file",
        "-p",
        envvar="CADANG_PASSWORD_FILE",
        type=click.Path(dir_okay=False),
        help=_("Read the passphrase from this file (env CADANG_PASSWORD_FILE)."),
    )(func)
    func = click.option(
        "--repo",
        "-r",
        envvar="CADANG_REPOSITORY",
        metavar="DIR",
        help=_("Repository location (env CADANG_REPOSITORY)."),
    )(func)
    return func


def pop_repo_options(kwargs: dict[str, Any]) -> RepoOptions:
    return RepoOptions(
        repo=kwargs.pop("repo"),
        password_file=kwargs.pop("password_file"),
        retry_lock=kwargs.pop("retry_lock"),
    )


def read_password_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise UsageError(
            _("cannot read password file {path}: {reason}").format(path=path, reason=exc.strerror)
        ) from exc
    return text.rstrip("\r\n")


def get_password(opts: RepoOptions, confirm: bool = False, prompt: str | None = None) -> str:
    """From --password-file, CADANG_PASSWORD, or a prompt on a terminal."""
    if opts.password_file:
        return read_password_file(opts.password_file)
    env = os.environ.get("CADANG_PASSWORD")
    if env is not None:
        return env
    return ask_password(prompt or _("Repository passphrase"), confirm)


def ask_password(prompt: str, confirm: bool) -> str:
    if not sys.stdin.isatty():
        raise UsageError(
            _("no passphrase given and there is no terminal to ask on"),
            hint=_("set CADANG_PASSWORD_FILE (or CADANG_PASSWORD), or pass --password-file"),
        )
    password: str = click.prompt(
        prompt,
        hide_input=True,
        confirmation_prompt=_("Repeat the passphrase") if confirm else False,
        err=True,
    )
    if not password:
        raise UsageError(_("an empty passphrase is not allowed"))
    return password


def open_repo(opts: RepoOptions, load_index: bool = True) -> Repository:
    backend = open_backend(opts.location())
    Repository.read_config(backend)  # a missing or newer repository says so before the prompt
    return Repository.open(backend, get_password(opts), load_index=load_index)


@contextlib.contextmanager
def repository(
    opts: RepoOptions, lock: str | None = "shared", load_index: bool = True
) -> Iterator[Repository]:
    """Open the repository, hold a lock while the command runs, and close it."""
    # The index is read only once the lock is held: read before, it could name packs that
    # a prune finishing in between deletes, and a backup would then dedup against them.
    repo = open_repo(opts, load_index=load_index and lock is None)
    try:
        if lock is None:
            yield repo
        else:
            with locked(repo, exclusive=(lock == "exclusive"), wait=opts.retry_lock):
                if load_index:
                    repo.load_index()
                yield repo
    finally:
        repo.close()


def kdf_from_env() -> keys.KdfParams:
    """Argon2id cost; CADANG_KDF_MEMORY_KIB lowers it for tests on small machines."""
    mem = os.environ.get("CADANG_KDF_MEMORY_KIB")
    if mem:
        try:
            return keys.KdfParams(time_cost=1, memory_kib=int(mem), parallelism=1)
        except ValueError:
            raise UsageError(_("CADANG_KDF_MEMORY_KIB must be a whole number")) from None
    return keys.KdfParams()


def print_json(obj: object) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def apps_option(func: F) -> F:
    """--app NAME (repeatable) for the plan commands that select applications."""
    return click.option(
        "--app",
        "apps",
        multiple=True,
        metavar="NAME",
        help=_("Only this application (repeatable)."),
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help=_("Print JSON."))(func)


def show_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def fs_path(raw: bytes) -> str:
    """A path from a snapshot, shown even when it is not valid UTF-8."""
    return raw.decode("utf-8", "backslashreplace")


def warn_index_errors(repo: Repository) -> None:
    """Name the damaged index files that loading the index skipped (see Repository.load_index)."""
    for message in repo.index_errors:
        click.echo(_("warning: {message}").format(message=message), err=True)
    if repo.index_errors:
        click.echo(
            _(
                "warning: the blobs those index files list look missing, so some files may "
                "fail; run 'cadang check' to see which snapshots and files are affected"
            ),
            err=True,
        )
