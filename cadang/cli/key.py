"""cadang key (not written yet)."""

import click


@click.command("key")
def command() -> None:
    """Not written yet."""
    raise click.UsageError("not written yet")
