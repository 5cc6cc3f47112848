"""What ``cadang serve`` does: set up the catalog, import the plan, start scheduler and web."""

from __future__ import annotations

import threading
from collections.abc import Callable

from cadang.i18n import _
from cadang.server import bootstrap


def prepare(database: str | None = None, plan_file: str | None = None) -> str | None:
    """Django started, catalog migrated, defaults present, the plan imported if given.
    Returns a line describing the import, or None."""
    bootstrap.setup(database)
    bootstrap.migrate()
    from cadang.server.defaults import ensure_defaults

    ensure_defaults()
    if not plan_file:
        return None
    from cadang.server.inventory.importer import import_plan_file

    result = import_plan_file(plan_file, actor="")
    return result.summary()


def serve(
    *,
    plan_file: str | None,
    database: str | None,
    host: str,
    port: int,
    threads: int,
    web: bool,
    scheduler: bool,
    echo: Callable[[str], None],
) -> None:
    imported = prepare(database, plan_file)
    if imported:
        echo(imported)
    stop = threading.Event()
    worker = None
    if scheduler:
        from cadang.server.runs.scheduler import SchedulerThread

        worker = SchedulerThread(stop=stop)
        worker.start()
        echo(_("scheduler started"))
    try:
        if web:
            import waitress

            from cadang.server.wsgi import application

            echo(_("serving on http://{host}:{port}/ (Ctrl-C stops)").format(host=host, port=port))
            waitress.serve(application, host=host, port=port, threads=threads, ident="cadang")
        else:
            stop.wait()
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=30)
