"""cadang run: back up the plan's applications (one snapshot per source), then retention and copies."""

from __future__ import annotations

import click

from cadang.checks.base import Checklist
from cadang.cli.check_before import attention_line, print_checklist
from cadang.cli.common import apps_option, json_option, print_json, require_plan, show_bytes
from cadang.i18n import _
from cadang.plan.model import Priority
from cadang.plan.run import Runner, RunReport, SourceResult, Status


def status_word(status: Status) -> str:
    return {
        Status.SUCCEEDED: _("succeeded"),
        Status.FAILED: _("failed"),
        Status.PARTIAL: _("partial"),
        Status.PLANNED: _("planned"),
    }[status]


def verified_word(verified: str) -> str:
    return {
        "passed": _("verified"),
        "failed": _("FAILED"),
        "skipped": _("skipped"),
    }.get(verified, "-")


def _show_progress(r: SourceResult) -> None:
    click.echo(
        _("{app}/{source}: {status} ({size}, {seconds:.1f}s)").format(
            app=r.app,
            source=r.source,
            status=status_word(r.status),
            size=show_bytes(r.size),
            seconds=r.duration,
        ),
        err=True,
    )


def print_table(report: RunReport) -> None:
    # Column titles are marked outside the f-string: the extractor does not look inside.
    titles = (
        _("Application"),
        _("Owner"),
        _("Source"),
        _("Status"),
        _("Size"),
        _("Duration"),
        _("Verification"),
        _("Snapshot label"),
    )
    rows = [
        (
            r.app,
            r.owner,
            r.source,
            status_word(r.status),
            show_bytes(r.size) if r.status is not Status.PLANNED else "-",
            f"{r.duration:.1f}s" if r.status is not Status.PLANNED else "-",
            verified_word(r.verified),
            r.label if r.snapshot_id or r.status is Status.PLANNED else "-",
        )
        for r in report.results
    ]
    widths = [max(len(t), *(len(row[i]) for row in rows)) for i, t in enumerate(titles)]
    widths[1] = min(widths[1], 24)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c[: widths[i]].ljust(widths[i]) for i, c in enumerate(cells)).rstrip()

    header = line(titles)
    click.echo(header)
    click.echo("-" * len(header))
    for row in rows:
        click.echo(line(row))


def print_report(report: RunReport) -> None:
    click.echo(
        _("{org} — backup run on {host}, {started}").format(
            org=report.organization, host=report.hostname, started=report.started
        )
    )
    click.echo()
    if not report.results:
        click.echo(_("no application selected: nothing to back up"))
        return
    print_table(report)
    if report.dry_run:
        click.echo()
        for r in report.results:
            click.echo(
                _("{app}/{source} ({kind}) into repository {repository}, label {label}:").format(
                    app=r.app, source=r.source, kind=r.kind, repository=r.repository, label=r.label
                )
            )
            for step in r.steps:
                click.echo(f"    {step}")
    problems = [r for r in report.results if r.error]
    if problems:
        click.echo()
        for r in problems:
            click.echo(
                _("{app}/{source}: {status}: {message}").format(
                    app=r.app, source=r.source, status=status_word(r.status), message=r.error
                )
            )
            if r.hint:
                click.echo(_("  hint: {hint}").format(hint=r.hint))
            for path, message in r.unreadable[:20]:
                click.echo(_("  cannot read {path}: {message}").format(path=path, message=message))
    left_out = [r for r in report.results if r.quarantined]
    if left_out:
        click.echo()
        for r in left_out:
            click.echo(
                _("{app}/{source}: {n} infected file(s) left out of this backup:").format(
                    app=r.app, source=r.source, n=len(r.quarantined)
                )
            )
            for path in r.quarantined[:20]:
                click.echo(f"    {path}")
    failed = report.verification_failures
    if failed:
        click.echo()
        for r in failed:
            click.echo(
                _("{app}/{source}: snapshot {id} ({label}) FAILED verification: {summary}").format(
                    app=r.app,
                    source=r.source,
                    id=r.snapshot_id[:8],
                    label=r.label,
                    summary=r.verification,
                )
            )
            for e in r.verify_errors[:20]:
                click.echo(f"    {e}")
        click.echo(
            _("the run needs attention: a backup that does not verify may not be restorable")
        )
    messages = report.messages()
    if messages:
        click.echo()
        for m in messages:
            click.echo(m)
    click.echo()
    if report.dry_run:
        click.echo(_("dry run: nothing was backed up, forgotten or copied"))
        return
    click.echo(
        _(
            "{succeeded} succeeded, {partial} partial, {failed} failed of {total} source(s); "
            "{size} read, {added} added, {seconds:.1f}s"
        ).format(
            succeeded=report.count(Status.SUCCEEDED),
            partial=report.count(Status.PARTIAL),
            failed=report.count(Status.FAILED),
            total=len(report.results),
            size=show_bytes(sum(r.size for r in report.results)),
            added=show_bytes(sum(r.data_added for r in report.results)),
            seconds=report.duration,
        )
    )
    if report.checks is not None and report.checks.skipped:
        click.echo(_("pre-backup checks: {reason}").format(reason=report.checks.skipped))
    if report.needs_attention:
        click.echo(attention_line(report.escalation))


def _show_checklist(checklist: Checklist) -> None:
    print_checklist(checklist)
    click.echo()


@click.command(
    "run",
    help=_(
        "Back up the plan's applications: one snapshot per source, labelled by the naming "
        "rule; then retention per priority and copies (e.g. to the external disk).\n\n"
        "Each new snapshot is then verified (read back, and restored in a test; plan option "
        "verify).\n\n"
        "Exit code 0: all succeeded; 1: a source failed (the others were still backed up) or "
        "a snapshot failed verification; 3: snapshots were written but some files could not "
        "be read."
    ),
)
@click.option(
    "--priority",
    type=click.Choice([p.value for p in Priority]),
    default=None,
    help=_("Only the applications of this priority."),
)
@apps_option
@click.option(
    "--dry-run", "-n", is_flag=True, help=_("Show what would run; back up and change nothing.")
)
@click.option(
    "--retry-lock",
    type=float,
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help=_("Wait up to this long for another operation's lock to go."),
)
@click.option(
    "--skip-checks",
    is_flag=True,
    help=_(
        "Emergencies only: back up without the pre-backup checks (recorded, and the run is "
        "marked as needing attention)."
    ),
)
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    priority: str | None,
    apps: tuple[str, ...],
    dry_run: bool,
    retry_lock: float,
    skip_checks: bool,
    as_json: bool,
) -> None:
    plan = require_plan(ctx)
    runner = Runner(
        plan,
        priority=priority,
        apps=list(apps),
        dry_run=dry_run,
        lock_wait=retry_lock,
        on_result=None if as_json else _show_progress,
        skip_checks=skip_checks,
        on_checks=None if as_json else _show_checklist,
    )
    report = runner.run()
    if as_json:
        print_json(report.to_json())
    else:
        print_report(report)
    if report.exit_code:
        ctx.exit(report.exit_code)
