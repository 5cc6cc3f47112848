"""cadang find (not written yet)."""

import click


@click.command("find")
def command() -> None:
    """Not written yet."""
    raise click.UsageError("not written yet")
