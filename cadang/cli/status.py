"""cadang status: last backup, last verified restore, age against priority, check failures."""

from __future__ import annotations

import datetime as dt

import click

from cadang.cli.common import apps_option, json_option, print_json, require_plan
from cadang.i18n import _
from cadang.plan.status import AppStatus, SourceStatus, StatusReport, plan_status, show_age


def _when(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")


def _backup_line(s: SourceStatus) -> str:
    if s.last_backup is None:
        return _("last backup: none")
    b = s.last_backup
    text = _("last backup: {time} ({age} ago), {label}").format(
        time=_when(b.time), age=show_age(b.age_hours), label=b.label or b.id[:8]
    )
    if b.partial:
        text += " " + _("(partial)")
    return text


def _verify_line(s: SourceStatus) -> str:
    v = s.last_verification
    if v is None:
        return _("never verified")
    if s.restorable_on:
        line = _("verified restorable on {date}").format(date=_when(s.restorable_on))
    else:
        line = _("not yet verified restorable")
    if v.result != "passed":
        line += "; " + _("last verification FAILED on {date}: {reason}").format(
            date=_when(v.time), reason=v.summary
        )
    return line


def print_app(a: AppStatus) -> None:
    mark = _("OK") if a.ok else _("ATTENTION")
    click.echo(
        _("{app} ({priority}, {owner}), repository {repository}: {mark}").format(
            app=a.name, priority=a.priority, owner=a.owner, repository=a.repository, mark=mark
        )
    )
    for p in a.problems:
        click.echo("  " + p)
    for s in a.sources:
        click.echo(f"  {s.source} ({s.kind}): {_backup_line(s)}; {_verify_line(s)}")
        for p in s.problems:
            click.echo("    " + p)
    if a.checklist_time is None:
        click.echo("  " + _("pre-backup checks: none recorded yet"))
    elif a.check_failures:
        click.echo(
            "  " + _("pre-backup checks of {date} failed:").format(date=_when(a.checklist_time))
        )
        for f in a.check_failures:
            click.echo("    " + f)
    else:
        click.echo(
            "  " + _("pre-backup checks of {date}: no failure").format(date=_when(a.checklist_time))
        )


def print_report(report: StatusReport) -> None:
    click.echo(
        _("{org} — status at {time}").format(org=report.organization, time=_when(report.time))
    )
    click.echo()
    for a in report.applications:
        print_app(a)
    for w in report.warnings:
        click.echo(_("warning: {message}").format(message=w), err=True)
    click.echo()
    bad = [a.name for a in report.applications if not a.ok]
    if bad:
        click.echo(
            _("{n} application(s) need attention: {names}").format(n=len(bad), names=", ".join(bad))
        )
    else:
        click.echo(_("every application is backed up in time and nothing failed"))


@click.command(
    "status",
    help=_(
        "Show for each application: its last backup, when it was last verified restorable, "
        "its age against its priority (a daily application with no good backup for over "
        "26 hours is overdue; plan option overdue_after_hours), and the failures of the "
        "last pre-backup checks.\n\n"
        "Exit code 0: all in order; 1: something is overdue or failed (for cron and "
        "monitoring)."
    ),
)
@apps_option
@json_option
@click.pass_context
def command(ctx: click.Context, apps: tuple[str, ...], as_json: bool) -> None:
    plan = require_plan(ctx)
    report = plan_status(plan, apps=list(apps))
    if as_json:
        print_json(report.to_json())
    else:
        print_report(report)
    if report.exit_code:
        ctx.exit(report.exit_code)
