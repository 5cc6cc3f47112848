"""cadang check (not written yet)."""

import click


@click.command("check")
def command() -> None:
    """Not written yet."""
    raise click.UsageError("not written yet")
