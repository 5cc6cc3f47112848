"""cadang check: the repository's structure always, the contents of its packs when asked."""

from __future__ import annotations

from typing import Any

import click

from cadang.backends import open_backend
from cadang.cli.common import (
    get_password,
    json_option,
    pop_repo_options,
    print_json,
    repo_options,
    show_bytes,
)
from cadang.cli.progress import TerminalProgress
from cadang.errors import CheckFailedError, UsageError
from cadang.i18n import _
from cadang.repo.checker import (
    Checker,
    CheckResult,
    ReadSubset,
    open_for_check,
    parse_subset,
    read_config_for_check,
)
from cadang.repo.locks import locked


def _subset_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> ReadSubset | None:
    if value is None:
        return None
    try:
        return parse_subset(value)
    except UsageError as exc:
        message = (
            _("{message} ({hint})").format(message=exc.message, hint=exc.hint)
            if exc.hint
            else exc.message
        )
        raise click.BadParameter(message, ctx=ctx, param=param) from None


@click.command(
    "check",
    help=_(
        "Check the repository for damage, and name the snapshots and files it affects.\n\n"
        "The structure (config, keys, index, snapshots, pack headers, trees) is always "
        "checked; --read-data or --read-data-subset also read the packs' contents. Exit "
        "code 1 means damage was found."
    ),
)
@repo_options
@click.option(
    "--read-data",
    is_flag=True,
    help=_("Also read every pack and verify every blob in it (reads the whole repository)."),
)
@click.option(
    "--read-data-subset",
    "subset",
    metavar="P%|n/t",
    callback=_subset_option,
    help=_(
        "Read and verify only part of the packs: a random percentage (10%), or group n of t "
        "by pack id (1/5; groups 1 to t together cover every pack)."
    ),
)
@json_option
@click.option("--quiet", "-q", is_flag=True, help=_("Print only problems."))
def command(
    read_data: bool, subset: ReadSubset | None, as_json: bool, quiet: bool, **kw: Any
) -> None:
    opts = pop_repo_options(kw)
    if read_data and subset is not None:
        raise UsageError(_("give either --read-data or --read-data-subset, not both"))
    backend = open_backend(opts.location())
    config = read_config_for_check(backend)
    repo = open_for_check(backend, get_password(opts), config)
    try:
        with (
            locked(repo, exclusive=False, wait=opts.retry_lock),
            TerminalProgress(
                _("check"), enabled=None if not (quiet or as_json) else False
            ) as progress,
        ):
            result = Checker(repo, progress.reporter()).check(read_data=read_data, subset=subset)
    finally:
        repo.close()
    if as_json:
        print_json(result.to_json())
    else:
        print_report(result, read_data or subset is not None, quiet)
    if not result.ok:
        raise CheckFailedError(
            _("the check found {n} error(s); the repository is damaged").format(
                n=len(result.errors)
            ),
            hint=_(
                "files not listed as affected still restore; keep the damaged files "
                "for inspection until the damage is understood"
            ),
        )


def print_report(result: CheckResult, read: bool, quiet: bool) -> None:
    c = result.checked
    if not quiet:
        click.echo(
            _(
                "checked {keys} key(s), {index} index file(s), {snapshots} snapshot(s), "
                "{packs} pack(s), {trees} tree(s), {refs} file chunk reference(s)"
            ).format(
                keys=c.get("keys", 0),
                index=c.get("index_files", 0),
                snapshots=c.get("snapshots", 0),
                packs=c.get("packs", 0),
                trees=c.get("trees", 0),
                refs=c.get("blob_refs", 0),
            )
        )
        if read or c.get("packs_read"):
            click.echo(
                _("read {n} pack(s), {size}").format(
                    n=c.get("packs_read", 0), size=show_bytes(c.get("bytes_read", 0))
                )
            )
    for w in result.warnings:
        click.echo(_("warning: {message}").format(message=w), err=True)
    for e in result.errors:
        click.echo(_("error: {message}").format(message=e))
    if result.affected:
        click.echo(_("damage affects {n} snapshot(s):").format(n=len(result.affected)))
        for snap_id, paths in sorted(result.affected.items()):
            click.echo(
                _("  snapshot {id}: {n} path(s) cannot be restored").format(
                    id=snap_id, n=len(paths)
                )
            )
            for p in paths:
                click.echo(f"    {p}")
        click.echo(
            _("(a path ending in '/' is a directory whose listing is lost, with all below it)")
        )
    if result.ok and not quiet:
        click.echo(_("no errors were found"))
