"""cadang audit: check the server's audit log (hash chain and anchor)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from cadang.server.audit.chain import Problem

from cadang import i18n
from cadang.cli.serve import database_option
from cadang.i18n import _, ngettext


def describe(problem: Problem) -> str:
    """One finding in the command line's language, worded once, by the pages' catalog."""
    from django.utils import translation

    from cadang.server.audit.wording import describe as worded

    with translation.override(i18n.language()):
        return worded(problem)


@click.group("audit", help=_("The server's audit log: check that no entry was changed or removed."))
def command() -> None:
    pass


@command.command(
    "verify",
    help=_(
        "Recompute the hash chain of the audit log and compare its end with the anchor file; "
        "report every entry changed, removed or inserted. Exit 1 when the log was tampered with. "
        "Adds nothing to the log."
    ),
)
@database_option
@click.pass_context
def verify(ctx: click.Context, database: str | None) -> None:
    from cadang.server.service import prepare

    prepare(database)
    from cadang.server.audit.chain import verify_chain

    report = verify_chain()
    for note in report.notes:
        click.echo(_("note: {text}").format(text=describe(note)))
    if report.intact:
        click.echo(
            ngettext("{n} entry, chain intact", "{n} entries, chain intact", report.entries).format(
                n=report.entries
            )
        )
        return
    for problem in report.problems:
        click.echo(describe(problem))
    more = report.problem_count - len(report.problems)
    if more:
        click.echo(_("... and {n} more").format(n=more))
    from cadang.server.audit.chain import Kind

    if any(p.kind in (Kind.TRUNCATED, Kind.ANCHOR_MISMATCH) for p in report.problems):
        click.echo(
            _(
                "  hint: if this catalog replaced the one the anchor ({path}) was written for, "
                "on purpose, accept it with 'cadang audit reset-anchor'"
            ).format(path=report.anchor_file),
            err=True,
        )
    click.echo(
        ngettext(
            "the chain is BROKEN: {p} problem in {n} entries",
            "the chain is BROKEN: {p} problems in {n} entries",
            report.problem_count,
        ).format(n=report.entries, p=report.problem_count),
        err=True,
    )
    ctx.exit(1)


@command.command(
    "reset-anchor",
    help=_(
        "Set the anchor file to the log's newest entry, after the catalog was replaced on "
        "purpose (restored from a backup, moved to another database). Recorded in the log."
    ),
)
@database_option
def reset_anchor(database: str | None) -> None:
    from cadang.server.service import prepare

    prepare(database)
    from cadang.server.audit.anchor import reset_anchor as reset

    old, new = reset(actor="cli")
    click.echo(
        _("anchor moved from entry {old} to entry {new}").format(
            old=old.seq if old else "-", new=new.seq if new else "-"
        )
    )
