"""cadang unlock (not written yet)."""

import click


@click.command("unlock")
def command() -> None:
    """Not written yet."""
    raise click.UsageError("not written yet")
