"""cadang export (not written yet)."""

import click


@click.command("export")
def command() -> None:
    """Not written yet."""
    raise click.UsageError("not written yet")
