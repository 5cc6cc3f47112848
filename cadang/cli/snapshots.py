"""cadang snapshots: list snapshots."""

from __future__ import annotations

from typing import Any

import click

from cadang.cli.common import pop_repo_options, print_json, repo_options, repository
from cadang.i18n import _
from cadang.repo.snapshot import load_all


@click.command("snapshots", help=_("List the snapshots in the repository, oldest first."))
@repo_options
@click.option(
    "--tag", "tags", multiple=True, metavar="TAG", help=_("Only snapshots with this tag.")
)
@click.option("--host", default=None, metavar="NAME", help=_("Only snapshots of this host."))
@click.option("--json", "as_json", is_flag=True, help=_("Print JSON."))
def command(tags: tuple[str, ...], host: str | None, as_json: bool, **kw: Any) -> None:
    opts = pop_repo_options(kw)
    errors: list[str] = []
    with repository(opts, lock=None, load_index=False) as repo:
        snaps = load_all(repo, errors)
    snaps = [
        s
        for s in snaps
        if (not tags or set(tags) <= set(s.tags)) and (not host or s.hostname == host)
    ]
    if as_json:
        print_json([s.to_json() for s in snaps])
    else:
        # Column titles are marked outside the f-string: the extractor does not look inside.
        titles = (_("ID"), _("Time"), _("Host"), _("Label"), _("Tags"), _("Paths"))
        header = "{:<10} {:<20} {:<14} {:<28} {:<16} {}".format(*titles)
        click.echo(header)
        click.echo("-" * len(header))
        for s in snaps:
            click.echo(
                f"{s.short_id:<10} {s.time.strftime('%Y-%m-%d %H:%M:%S'):<20} {s.hostname[:14]:<14} "
                f"{s.label[:28]:<28} {','.join(s.tags)[:16]:<16} {', '.join(s.paths)}"
            )
        click.echo(_("{n} snapshot(s)").format(n=len(snaps)))
    for e in errors:
        click.echo(_("warning: {message}").format(message=e), err=True)
