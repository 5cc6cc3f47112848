"""cadang plan: check the plan file and this machine, or write a commented example."""

from __future__ import annotations

import os
import sys

import click

from cadang.cli.common import json_option, print_json, require_plan_file
from cadang.cli.serve import database_option
from cadang.errors import PlanError, PlanProblem, UsageError
from cadang.i18n import _, ngettext


@click.group("plan", help=_("Check the plan file (cadang.yaml), or write an example one."))
def command() -> None:
    pass


@command.command(
    "check",
    help=_(
        "Check the plan given with -c: the file itself (every problem at once, with its line) "
        "and this machine: the programs each source needs, secrets, databases and repositories."
    ),
)
@click.option(
    "--offline",
    is_flag=True,
    help=_(
        "Do not contact the databases or open the repositories; check the file, programs and secrets."
    ),
)
@json_option
@click.pass_context
def check(ctx: click.Context, offline: bool, as_json: bool) -> None:
    from cadang.plan.loader import load_plan_with_positions
    from cadang.plan.validate import check_environment

    file = require_plan_file(ctx)
    summary: dict[str, int] = {}
    try:
        plan, positions = load_plan_with_positions(file)
    except PlanError as exc:
        problems = exc.problems
    else:
        problems = check_environment(plan, positions, offline=offline)
        summary = {
            "applications": len(plan.applications),
            "sources": sum(len(a.sources) for a in plan.applications),
            "repositories": len(plan.repositories),
        }
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if not p.is_error]
    if as_json:
        print_json(
            {
                "file": file,
                "ok": not errors,
                "offline": offline,
                "errors": len(errors),
                "warnings": len(warnings),
                **summary,
                "problems": [p.as_dict() for p in problems],
            }
        )
    else:
        for p in problems:
            _show(p)
        if errors:
            click.echo(
                ngettext(
                    "{file}: {n} error, {w} warning(s); nothing can run until it is fixed",
                    "{file}: {n} errors, {w} warning(s); nothing can run until they are fixed",
                    len(errors),
                ).format(file=file, n=len(errors), w=len(warnings))
            )
        else:
            click.echo(
                _(
                    "{file}: the plan is ready ({apps} application(s), {sources} source(s), "
                    "{warnings} warning(s))"
                ).format(
                    file=file,
                    apps=summary.get("applications", 0),
                    sources=summary.get("sources", 0),
                    warnings=len(warnings),
                )
            )
            if offline:
                click.echo(_("offline: databases and repositories were not checked"))
    if errors:
        ctx.exit(2)


def _show(p: PlanProblem) -> None:
    if p.is_error:
        click.echo(f"{p.location()}: {p.message}")
    else:
        click.echo(f"{p.location()}: " + _("warning: {message}").format(message=p.message))
    if p.hint:
        click.echo("    " + _("hint: {hint}").format(hint=p.hint))


@command.command(
    "init",
    help=_("Write a commented example plan to FILE (default cadang.yaml; - for standard output)."),
)
@click.argument("file", required=False, metavar="[FILE|-]")
@click.option("--force", is_flag=True, help=_("Overwrite FILE if it exists."))
@click.pass_context
def init(ctx: click.Context, file: str | None, force: bool) -> None:
    from cadang.cli.common import GlobalOptions
    from cadang.plan.example import EXAMPLE_PLAN

    if file is None:
        opts = ctx.find_object(GlobalOptions)
        file = opts.config if opts is not None and opts.config else "cadang.yaml"
    if file == "-":
        sys.stdout.write(EXAMPLE_PLAN)
        return
    try:
        with open(file, "w" if force else "x", encoding="utf-8") as f:
            f.write(EXAMPLE_PLAN)
    except FileExistsError:
        raise UsageError(
            _("{file} already exists; it was left as it is").format(file=file),
            hint=_("pass --force to overwrite it, or give another file name"),
        ) from None
    except OSError as exc:
        raise UsageError(
            _("cannot write {file}: {reason}").format(file=file, reason=exc.strerror or exc)
        ) from None
    folder = os.path.dirname(os.path.abspath(file))
    click.echo(_("wrote an example plan to {file}").format(file=file))
    click.echo(
        _(
            "edit it for this office (its secrets go in files under {folder}/secrets/, "
            "chmod 600), then run: cadang -c {file} plan check"
        ).format(folder=folder, file=file)
    )


@command.command(
    "export",
    help=_(
        "Write the server's plan (its inventory, as edited on the web) as a plan file to "
        "standard output or FILE."
    ),
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help=_("Write to FILE instead of standard output (- is standard output)."),
)
@database_option
def export(output: str | None, database: str | None) -> None:
    # Django only here, so that the other plan commands never load it.
    import datetime as dt

    from cadang.server.service import prepare

    prepare(database)
    from cadang.server.audit.log import record
    from cadang.server.inventory.catalog import current_plan
    from cadang.server.inventory.exporter import plan_yaml

    plan = current_plan()
    text = plan_yaml(plan, when=dt.datetime.now().astimezone())
    if not output or output == "-":
        sys.stdout.write(text)
    else:
        try:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise UsageError(
                _("cannot write {file}: {reason}").format(file=output, reason=exc.strerror or exc)
            ) from None
        click.echo(
            _("wrote the server's plan to {file} ({n} application(s))").format(
                file=output, n=len(plan.applications)
            ),
            err=True,
        )
    record("plan_exported", actor="cli", target=output or "-")
