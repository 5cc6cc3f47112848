"""cadang prune (not written yet)."""

import click


@click.command("prune")
def command() -> None:
    """Not written yet."""
    raise click.UsageError("not written yet")
