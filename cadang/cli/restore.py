"""cadang restore: write a snapshot into a directory, or (with a plan) restore an application.

Without a plan, ``cadang restore SNAPSHOT --target DIR`` restores a snapshot of the
repository given with --repo, as restic does. With a plan (``cadang -c cadang.yaml restore
APP``), the argument is an application of the plan and the restore follows SOP 002: into a
new name beside the original by default, in place only with --in-place and the service's
stop / start / health hooks. One command, two readings of its argument; options of the one
reading are refused in the other with a message that says which to use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from cadang.cli.common import (
    GlobalOptions,
    pop_repo_options,
    print_json,
    repo_options,
    repository,
    require_plan,
    show_bytes,
    warn_index_errors,
)
from cadang.cli.progress import TerminalProgress
from cadang.errors import RestoreError, UsageError
from cadang.i18n import _
from cadang.repo.restorer import Restorer
from cadang.repo.snapshot import find_snapshot

if TYPE_CHECKING:
    from cadang.plan.restore import RestoreReport

# Options that only one of the two readings takes.
_SNAPSHOT_ONLY = ("target", "includes", "repo", "password_file", "quiet")
_APP_ONLY = ("source", "snapshot", "into", "in_place")
_SHOWN = {
    "target": "--target",
    "includes": "--include",
    "repo": "--repo",
    "password_file": "--password-file",
    "quiet": "--quiet",
    "source": "--source",
    "snapshot": "--snapshot",
    "into": "--into",
    "in_place": "--in-place",
}


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE


def _plan_mode(ctx: click.Context) -> bool:
    """A plan was given; a plan from CADANG_CONFIG alone yields to an explicit --target."""
    opts = ctx.find_object(GlobalOptions)
    if opts is None or not opts.config:
        return False
    parent = ctx.parent
    from_env = (
        parent is not None and parent.get_parameter_source("config") is ParameterSource.ENVIRONMENT
    )
    return not (from_env and _given(ctx, "target"))


@click.command(
    "restore",
    help=_(
        "Restore SNAPSHOT ('latest', an id prefix or a label) into --target.\n\n"
        "With a plan (cadang -c cadang.yaml restore APP): restore application APP from its "
        "latest snapshot (or --snapshot ID|LABEL); databases go into a new name beside the "
        "original and files into a new directory (--into NAME or DIR); --in-place overwrites "
        "the original, only after the application's service.stop hook ran, and runs "
        "service.start and service.health afterwards."
    ),
)
@repo_options
@click.argument("name", metavar="SNAPSHOT|APP")
@click.option("--target", "-t", metavar="DIR", help=_("Directory to restore into (no plan)."))
@click.option(
    "--include",
    "-i",
    "includes",
    multiple=True,
    metavar="PATH",
    help=_("Restore only this path (repeatable; no plan)."),
)
@click.option(
    "--source", metavar="NAME", help=_("With a plan: the application's source to restore.")
)
@click.option(
    "--snapshot",
    default="latest",
    show_default=True,
    metavar="ID|LABEL",
    help=_("With a plan: which of the application's snapshots."),
)
@click.option(
    "--into",
    metavar="NAME",
    help=_("With a plan: the new database name, or the directory for files."),
)
@click.option(
    "--in-place",
    is_flag=True,
    help=_("With a plan: overwrite the original (stops and starts the service)."),
)
@click.option("--json", "as_json", is_flag=True, help=_("Print the summary as JSON."))
@click.option("--quiet", "-q", is_flag=True, help=_("No progress and no summary."))
@click.pass_context
def command(ctx: click.Context, /, name: str, as_json: bool, **kw: Any) -> None:
    if _plan_mode(ctx):
        wrong = [_SHOWN[o] for o in _SNAPSHOT_ONLY if _given(ctx, o)]
        if wrong:
            raise UsageError(
                _("{options}: not used when restoring an application of the plan").format(
                    options=", ".join(wrong)
                ),
                hint=_(
                    "with -c, 'restore APP' takes --source, --snapshot, --into and --in-place; "
                    "without -c, 'restore SNAPSHOT --target DIR' restores from --repo"
                ),
            )
        _restore_application(
            ctx,
            name,
            kw["source"],
            kw["snapshot"],
            kw["into"],
            kw["in_place"],
            kw["retry_lock"] if _given(ctx, "retry_lock") else 30.0,
            as_json,
        )
        return
    wrong = [_SHOWN[o] for o in _APP_ONLY if _given(ctx, o)]
    if wrong:
        raise UsageError(
            _("{options}: only for restoring an application, which needs a plan").format(
                options=", ".join(wrong)
            ),
            hint=_("cadang -c cadang.yaml restore APP {options}").format(options=" ".join(wrong)),
        )
    target = kw.pop("target")
    if not target:
        raise UsageError(
            _("no --target given: where should the snapshot be restored?"),
            hint=_("cadang restore SNAPSHOT --target DIR (or, with a plan: -c FILE restore APP)"),
        )
    for o in _APP_ONLY:
        kw.pop(o)
    _restore_snapshot(name, target, kw.pop("includes"), as_json, kw.pop("quiet"), kw)


# --- a snapshot into a directory (no plan) ------------------------------------------------


def _restore_snapshot(
    snapshot: str,
    target: str,
    includes: tuple[str, ...],
    as_json: bool,
    quiet: bool,
    kw: dict[str, Any],
) -> None:
    opts = pop_repo_options(kw)
    with repository(opts) as repo:
        warn_index_errors(repo)
        snap = find_snapshot(repo, snapshot)
        with TerminalProgress(
            _("restore"), enabled=None if not (quiet or as_json) else False
        ) as progress:
            summary = Restorer(repo, progress.reporter()).restore(snap, target, list(includes))
    if not progress.enabled:  # a drawn progress display named them as they happened
        for path, message in summary.errors:
            click.echo(_("error: {path}: {message}").format(path=path, message=message), err=True)
    if as_json:
        print_json(
            {
                "snapshot": snap.id,
                "files": summary.files,
                "dirs": summary.dirs,
                "others": summary.others,
                "bytes": summary.bytes,
                "duration": summary.duration,
                "errors": [{"path": p, "message": m} for p, m in summary.errors],
                "warnings": summary.warnings,
            }
        )
    elif not quiet:
        for w in summary.warnings:
            click.echo(_("warning: {message}").format(message=w), err=True)
        click.echo(
            _(
                "restored snapshot {id}: {files} files, {dirs} directories, {size} in {seconds:.1f}s"
            ).format(
                id=snap.short_id,
                files=summary.files,
                dirs=summary.dirs,
                size=show_bytes(summary.bytes),
                seconds=summary.duration,
            )
        )
    if summary.errors:
        raise RestoreError(
            _("{n} path(s) could not be restored; the rest was restored").format(
                n=len(summary.errors)
            )
        )


# --- an application of the plan -------------------------------------------------------------


def _restore_application(
    ctx: click.Context,
    app: str,
    source: str | None,
    snapshot: str,
    into: str | None,
    in_place: bool,
    lock_wait: float,
    as_json: bool,
) -> None:
    plan = require_plan(ctx)
    # Imported here: the plan layer costs half a second of imports that a plain
    # `cadang restore SNAPSHOT --target DIR` must not pay.
    from cadang.plan.restore import ApplicationRestore

    restore = ApplicationRestore(
        plan,
        app,
        source=source,
        snapshot=snapshot,
        into=into,
        in_place=in_place,
        lock_wait=lock_wait,
    )
    report = restore.run()
    if as_json:
        print_json(report.to_json())
    else:
        print_restore_report(report)
    if report.exit_code:
        ctx.exit(report.exit_code)


def print_restore_report(report: RestoreReport) -> None:
    for h in report.hooks:
        click.echo(
            _("service {hook}: {result} in {seconds:.1f}s ({command}){message}").format(
                hook=h.name,
                result=_("ok") if h.ok else _("FAILED"),
                seconds=h.duration,
                command=h.command,
                message=f": {h.message}" if h.message else "",
            )
        )
    for s in report.sources:
        click.echo(
            _("{app}/{source} ({kind}) from snapshot {id} {label} ({time}): {result}").format(
                app=report.app,
                source=s.source,
                kind=s.kind,
                id=s.snapshot_id[:8],
                label=s.label,
                time=s.time,
                result=_("restored") if s.ok else _("FAILED"),
            )
        )
        for where in s.restored:
            click.echo(_("  restored: {where}").format(where=where))
        for d in s.details:
            click.echo(f"  {d}")
        if s.error:
            click.echo(_("  error: {message}").format(message=s.error))
    click.echo()
    click.echo(report.state)
