"""cadang dump (not written yet)."""

import click


@click.command("dump")
def command() -> None:
    """Not written yet."""
    raise click.UsageError("not written yet")
