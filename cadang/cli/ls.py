"""cadang ls (not written yet)."""

import click


@click.command("ls")
def command() -> None:
    """Not written yet."""
    raise click.UsageError("not written yet")
