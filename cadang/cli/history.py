"""cadang history: the plan's snapshots by application and source, newest first."""

from __future__ import annotations

import datetime as dt

import click

from cadang.cli.common import json_option, print_json, require_plan, show_bytes
from cadang.i18n import _
from cadang.plan.history import load_history


@click.command(
    "history",
    help=_("List the snapshots of the plan's applications (or of APP), by source, newest first."),
)
@click.argument("app", required=False)
@json_option
@click.pass_context
def command(ctx: click.Context, app: str | None, as_json: bool) -> None:
    plan = require_plan(ctx)
    history = load_history(plan, app)
    if as_json:
        print_json(history.to_json())
    else:
        owners = {a.name: a.owner for a in plan.applications}
        groups = history.groups()
        if not groups:
            click.echo(_("no snapshots yet; 'cadang -c PLAN run' makes them"))
        for i, (name, source, entries) in enumerate(groups):
            if i:
                click.echo()
            click.echo(
                _("{app} / {source} ({owner}): {n} snapshot(s)").format(
                    app=name, source=source, owner=owners.get(name, "?"), n=len(entries)
                )
            )
            titles = (_("ID"), _("Time"), _("Size"), _("Label"))
            header = "  {:<10} {:<20} {:>10}  {}".format(*titles)
            click.echo(header)
            for e in entries:
                shown = dt.datetime.fromisoformat(e.time).strftime("%Y-%m-%d %H:%M:%S")
                click.echo(f"  {e.short_id:<10} {shown:<20} {show_bytes(e.size):>10}  {e.label}")
    for w in history.warnings:
        click.echo(_("warning: {message}").format(message=w), err=True)
