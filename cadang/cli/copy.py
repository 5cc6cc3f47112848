"""cadang copy (not written yet)."""

import click


@click.command("copy")
def command() -> None:
    """Not written yet."""
    raise click.UsageError("not written yet")
