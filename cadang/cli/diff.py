"""cadang diff (not written yet)."""

import click


@click.command("diff")
def command() -> None:
    """Not written yet."""
    raise click.UsageError("not written yet")
