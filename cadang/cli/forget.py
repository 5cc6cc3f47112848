"""cadang forget: remove snapshots by a retention policy (or by id), optionally prune."""

from __future__ import annotations

from typing import Any

import click

from cadang.cli.common import (
    json_option,
    pop_repo_options,
    print_json,
    repo_options,
    repository,
)
from cadang.cli.prune import parse_max_unused, print_result, run_prune
from cadang.errors import UsageError
from cadang.i18n import _
from cadang.repo.policy import (
    Decision,
    Duration,
    Policy,
    apply_policy,
    group_snapshots,
    matches_tags,
    parse_group_by,
    parse_tag_lists,
)
from cadang.repo.pruner import DEFAULT_MAX_UNUSED, load_snapshots_strict, remove_snapshots
from cadang.repo.snapshot import Snapshot, find_snapshot, load_all

_KEEP_HELP = {
    "last": _("Keep the newest N snapshots."),
    "hourly": _("Keep the newest snapshot of each of the last N hours that have one."),
    "daily": _("Keep the newest snapshot of each of the last N days that have one."),
    "weekly": _("Keep the newest snapshot of each of the last N ISO weeks that have one."),
    "monthly": _("Keep the newest snapshot of each of the last N months that have one."),
    "yearly": _("Keep the newest snapshot of each of the last N years that have one."),
}


def _keep_options(func: Any) -> Any:
    for kind in reversed(list(_KEEP_HELP)):
        func = click.option(
            f"--keep-{kind}",
            f"keep_{kind}",
            type=click.IntRange(min=0),
            default=0,
            metavar="N",
            help=_KEEP_HELP[kind],
        )(func)
    return func


def _group_title(key: tuple[tuple[str, str], ...]) -> str:
    if not key:
        return _("all snapshots")
    parts = []
    for field, value in key:
        shown = value.replace("\n", ", ")
        parts.append(_("{field} {value!r}").format(field=field, value=shown))
    return _("snapshots of {group}").format(group="; ".join(parts))


def _print_table(decisions: list[Decision]) -> None:
    # Column titles are marked outside the f-string: the extractor does not look inside.
    titles = (_("ID"), _("Time"), _("Host"), _("Tags"), _("Reasons"), _("Paths"))
    header = "{:<10} {:<20} {:<14} {:<16} {:<24} {}".format(*titles)
    click.echo(header)
    click.echo("-" * len(header))
    for d in decisions:
        s = d.snapshot
        click.echo(
            f"{s.short_id:<10} {s.time.strftime('%Y-%m-%d %H:%M:%S'):<20} {s.hostname[:14]:<14} "
            f"{','.join(s.tags)[:16]:<16} {','.join(d.reasons)[:24]:<24} {', '.join(s.paths)}"
        )


def _decision_json(d: Decision) -> dict[str, Any]:
    return {**d.snapshot.to_json(), "keep": d.keep, "reasons": d.reasons}


@click.command(
    "forget",
    help=_(
        "Remove snapshots that the keep options do not keep, or the SNAPSHOTs named.\n\n"
        "Grandfather-father-son: per group, newest first, a snapshot is kept for each "
        "rule (last, hourly, daily, weekly, monthly, yearly) whose period it is the "
        "newest of, until that rule's count is used up. Only snapshot files are "
        "removed; --prune (or a later 'cadang prune') frees the data."
    ),
)
@repo_options
@click.argument("snapshot_refs", nargs=-1, metavar="[SNAPSHOT]...")
@_keep_options
@click.option(
    "--keep-within",
    default=None,
    metavar="DURATION",
    help=_(
        "Keep every snapshot younger than DURATION before the group's newest one "
        "(e.g. 7d, 2w, 6m, 1y, 1y6m)."
    ),
)
@click.option(
    "--keep-tag",
    "keep_tags",
    multiple=True,
    metavar="TAG[,TAG]",
    help=_("Keep every snapshot that has these tags (repeatable)."),
)
@click.option(
    "--group-by",
    default="host,paths",
    show_default=True,
    metavar="FIELDS",
    help=_("Apply the policy per group: host,paths, host, paths, label, tags, or none."),
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG[,TAG]",
    help=_("Only consider snapshots that have these tags (repeatable)."),
)
@click.option(
    "--host", default=None, metavar="NAME", help=_("Only consider this host's snapshots.")
)
@click.option("--prune", "and_prune", is_flag=True, help=_("Run prune afterwards."))
@click.option(
    "--max-unused",
    default=f"{DEFAULT_MAX_UNUSED:g}%",
    show_default=True,
    metavar="P%",
    help=_("With --prune: as for 'cadang prune'."),
)
@click.option(
    "--dry-run", "-n", is_flag=True, help=_("Show what would be removed; change nothing.")
)
@json_option
def command(
    snapshot_refs: tuple[str, ...],
    keep_last: int,
    keep_hourly: int,
    keep_daily: int,
    keep_weekly: int,
    keep_monthly: int,
    keep_yearly: int,
    keep_within: str | None,
    keep_tags: tuple[str, ...],
    group_by: str,
    tags: tuple[str, ...],
    host: str | None,
    and_prune: bool,
    max_unused: str,
    dry_run: bool,
    as_json: bool,
    **kw: Any,
) -> None:
    opts = pop_repo_options(kw)
    policy = Policy(
        last=keep_last,
        hourly=keep_hourly,
        daily=keep_daily,
        weekly=keep_weekly,
        monthly=keep_monthly,
        yearly=keep_yearly,
        within=Duration.parse(keep_within) if keep_within is not None else None,
        tags=parse_tag_lists(keep_tags),
    )
    fields = parse_group_by(group_by)
    tag_filter = parse_tag_lists(tags)
    prune_limit = parse_max_unused(max_unused)
    if snapshot_refs and not policy.is_empty():
        raise UsageError(
            _("name snapshots to forget, or give keep options, but not both"),
        )
    if not snapshot_refs and policy.is_empty():
        raise UsageError(
            _("no keep option given: forget would remove every snapshot, so it refuses"),
            hint=_(
                "give at least one of --keep-last, --keep-hourly, --keep-daily, "
                "--keep-weekly, --keep-monthly, --keep-yearly (above 0), --keep-within "
                "or --keep-tag, or name the snapshots to forget"
            ),
        )

    lock = None if dry_run else "exclusive"
    with repository(opts, lock=lock, load_index=False) as repo:
        if and_prune and not dry_run:
            # Prune will refuse if any snapshot is unreadable; say so before removing any.
            snaps = load_snapshots_strict(repo)
        else:
            errors: list[str] = []
            snaps = load_all(repo, errors)
            for e in errors:
                click.echo(_("warning: {message}").format(message=e), err=True)
        groups: list[tuple[tuple[tuple[str, str], ...], list[Decision]]] = []
        if snapshot_refs:
            chosen: dict[str, Snapshot] = {}
            for ref in snapshot_refs:
                s = find_snapshot(repo, ref, snaps)
                chosen[s.id] = s
            groups.append(((), [Decision(s, False, []) for s in chosen.values()]))
        else:
            wanted = [
                s
                for s in snaps
                if matches_tags(s, tag_filter) and (host is None or s.hostname == host)
            ]
            for key, members in group_snapshots(wanted, fields).items():
                groups.append((key, apply_policy(members, policy)))
        to_remove = [d.snapshot for _key, ds in groups for d in ds if not d.keep]
        removed = 0 if dry_run else remove_snapshots(repo, to_remove)
        prune_result = None
        if and_prune:
            prune_result = run_prune(
                repo,
                prune_limit,
                dry_run,
                quiet=as_json,
                ignore_snapshots=frozenset(s.id for s in to_remove),
            )

    if as_json:
        print_json(
            {
                "dry_run": dry_run,
                "groups": [
                    {
                        "group": {f: v.split("\n") if f == "paths" else v for f, v in key},
                        "keep": [_decision_json(d) for d in ds if d.keep],
                        "remove": [_decision_json(d) for d in ds if not d.keep],
                    }
                    for key, ds in groups
                ],
                "removed": removed,
                "would_remove": len(to_remove) if dry_run else 0,
                "prune": prune_result.as_dict() if prune_result else None,
            }
        )
        return
    for key, ds in groups:
        keep = [d for d in ds if d.keep]
        drop = [d for d in ds if not d.keep]
        if not snapshot_refs:
            click.echo(_group_title(key))
            click.echo(_("keep {n} snapshot(s):").format(n=len(keep)))
            _print_table(keep)
        if drop:
            click.echo(_("remove {n} snapshot(s):").format(n=len(drop)))
            _print_table(drop)
        click.echo()
    if dry_run:
        click.echo(
            _("dry run: {n} snapshot(s) would be removed; nothing was changed").format(
                n=len(to_remove)
            )
        )
    else:
        click.echo(_("removed {n} snapshot(s)").format(n=removed))
    if prune_result is not None:
        print_result(prune_result)
