"""Starting Django from the command line: settings, database, migrations.

The command line imports this only for server commands, so engine and plan commands never
load Django.
"""

from __future__ import annotations

import os

from cadang.server.lib.config import DATABASE_ENV

SETTINGS = "cadang.server.settings"


def setup(database: str | None = None) -> None:
    """Configure and start Django once; ``database`` overrides CADANG_SERVER_DATABASE."""
    if database:
        os.environ[DATABASE_ENV] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()


def migrate(verbosity: int = 0) -> None:
    """Bring the catalog's tables up to date (idempotent)."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
