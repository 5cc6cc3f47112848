"""Retention after a run: each priority's policy per (application, source), then prune.

For each priority that had a successful backup in a repository, the plan's policy is applied
to each (application, source) group of that priority's snapshots, under an exclusive lock,
and prune runs when something was forgotten. A lock held by someone else postpones
retention to the next run; it is never fatal. A priority without a policy forgets nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cadang.errors import CadangError, LockError
from cadang.i18n import _
from cadang.plan.model import Application, Plan, Priority, RetentionPolicy
from cadang.plan.report import GroupRetention, RetentionResult, human_size
from cadang.plan.selection import tag_value
from cadang.repo.locks import locked
from cadang.repo.policy import Policy, apply_policy
from cadang.repo.pruner import load_snapshots_strict, prune, remove_snapshots
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot


def to_policy(r: RetentionPolicy) -> Policy:
    return Policy(
        last=r.keep_last,
        hourly=r.keep_hourly,
        daily=r.keep_daily,
        weekly=r.keep_weekly,
        monthly=r.keep_monthly,
        yearly=r.keep_yearly,
    )


def describe_policy(r: RetentionPolicy) -> str:
    return ", ".join(f"{k}={v}" for k, v in r.model_dump().items() if v) or "-"


def retain(
    plan: Plan,
    repo_name: str,
    repo: Repository,
    priorities: list[str],
    *,
    lock_wait: float,
    forget: Callable[[set[str]], None],
) -> RetentionResult:
    """Apply retention for ``priorities`` on one repository; never raises.

    ``forget`` is told the ids of the snapshots removed, before prune runs.
    """
    policies: dict[str, RetentionPolicy] = {}
    skipped: list[str] = []
    for p in priorities:
        policy = plan.retention.get(Priority(p))
        if policy is None or policy.empty():
            skipped.append(p)
        else:
            policies[p] = policy
    if not policies:
        return RetentionResult(
            repo_name,
            "skipped",
            _(
                "retention on {repository}: no retention policy for {priorities}; nothing forgotten"
            ).format(repository=repo_name, priorities=", ".join(skipped)),
        )
    try:
        with locked(repo, exclusive=True, wait=lock_wait):
            snaps = load_snapshots_strict(repo)
            groups, to_remove = decide(snaps, policies)
            if not to_remove:
                return RetentionResult(
                    repo_name,
                    "nothing",
                    _("retention on {repository} ({priorities}): nothing to forget").format(
                        repository=repo_name, priorities=", ".join(policies)
                    ),
                    groups,
                )
            remove_snapshots(repo, to_remove)
            forget({s.id for s in to_remove})
            pruned = prune(repo)
    except LockError as exc:
        return RetentionResult(
            repo_name,
            "postponed",
            _(
                "retention on {repository} postponed: {reason}; it will run after the next backup"
            ).format(repository=repo_name, reason=exc.message),
        )
    except CadangError as exc:
        return RetentionResult(
            repo_name,
            "failed",
            _("retention on {repository} failed: {reason}").format(
                repository=repo_name, reason=exc.message
            ),
        )
    return RetentionResult(
        repo_name,
        "applied",
        _(
            "retention on {repository} ({priorities}): {n} snapshot(s) forgotten, "
            "{freed} freed by prune"
        ).format(
            repository=repo_name,
            priorities=", ".join(policies),
            n=len(to_remove),
            freed=human_size(pruned.bytes_freed),
        ),
        groups,
        pruned.as_dict(),
    )


def decide(
    snaps: list[Snapshot], policies: dict[str, RetentionPolicy]
) -> tuple[list[GroupRetention], list[Snapshot]]:
    """Per priority with a policy, per (application, source): what to keep and forget."""
    grouped: dict[tuple[str, str, str], list[Snapshot]] = {}
    for s in snaps:
        prio, app, src = (tag_value(s.tags, k) for k in ("priority", "app", "source"))
        if prio in policies and app and src:
            grouped.setdefault((prio, app, src), []).append(s)
    groups: list[GroupRetention] = []
    to_remove: list[Snapshot] = []
    for (prio, app, src), members in sorted(grouped.items()):
        g = GroupRetention(app=app, source=src, priority=prio)
        for d in apply_policy(members, to_policy(policies[prio])):
            if d.keep:
                g.kept.append(d.snapshot.id)
            else:
                to_remove.append(d.snapshot)
                g.forgotten.append(
                    {
                        "id": d.snapshot.id,
                        "label": d.snapshot.label,
                        "time": d.snapshot.time.isoformat(),
                    }
                )
        groups.append(g)
    return groups, to_remove


def planned_retention(
    plan: Plan, repo_name: str, apps: Sequence[Application]
) -> list[RetentionResult]:
    """--dry-run: the retention a run would apply on one repository, per priority."""
    out: list[RetentionResult] = []
    prios = sorted({a.priority.value for a in apps})
    for p in prios:
        policy = plan.retention.get(Priority(p))
        shown = describe_policy(policy) if policy is not None else "-"
        out.append(
            RetentionResult(
                repo_name,
                "planned",
                _(
                    "retention on {repository} for {priority}: {policy}, per application "
                    "and source, then prune if anything is forgotten"
                ).format(repository=repo_name, priority=p, policy=shown),
            )
        )
    return out
