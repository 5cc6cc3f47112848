"""cadang forget (not written yet)."""

import click


@click.command("forget")
def command() -> None:
    """Not written yet."""
    raise click.UsageError("not written yet")
