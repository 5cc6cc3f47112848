"""cadang serve: the web pages and the scheduler in one process (Django + waitress)."""

from __future__ import annotations

import click

from cadang.cli.common import GlobalOptions
from cadang.i18n import _

database_option = click.option(
    "--database",
    envvar="CADANG_SERVER_DATABASE",
    metavar="URL",
    help=_(
        "The catalog: postgresql://user@host:port/name, or sqlite:///path (default: SQLite in "
        "the state directory). Env CADANG_SERVER_DATABASE."
    ),
)


@click.command(
    "serve",
    help=_(
        "Start the server: the web pages (people, runs, forms, approvals) and the scheduler "
        "that starts the backups on time. The catalog is created or brought up to date first."
    ),
)
@click.option(
    "--plan",
    "plan_file",
    metavar="FILE",
    help=_("Import this plan file into the inventory before starting (default: -c/--config)."),
)
@database_option
@click.option("--host", default="127.0.0.1", show_default=True, help=_("Address to listen on."))
@click.option("--port", default=8000, show_default=True, type=int, help=_("Port to listen on."))
@click.option("--threads", default=8, show_default=True, type=int, help=_("Web worker threads."))
@click.option("--no-scheduler", is_flag=True, help=_("Serve the pages only; start no backups."))
@click.option(
    "--scheduler-only",
    is_flag=True,
    help=_("Run the scheduler only (beside a separate WSGI server; see the README)."),
)
@click.pass_context
def command(
    ctx: click.Context,
    plan_file: str | None,
    database: str | None,
    host: str,
    port: int,
    threads: int,
    no_scheduler: bool,
    scheduler_only: bool,
) -> None:
    from cadang.server.service import serve

    opts = ctx.find_object(GlobalOptions)
    plan_file = plan_file or (opts.config if opts else None)
    serve(
        plan_file=plan_file,
        database=database,
        host=host,
        port=port,
        threads=threads,
        web=not scheduler_only,
        scheduler=not no_scheduler,
        echo=lambda line: click.echo(line, err=True),
    )
