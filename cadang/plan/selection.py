"""Which applications a run covers, and the tags that tie each snapshot back to them.

A run (and ``status``, ``verify``, ``restore``, the history) picks applications by priority
and name with :func:`select_applications`, and may narrow them to some of their sources with
:func:`select_sources` (the server retries only the sources that failed); every snapshot of a plan source carries the
``app:``, ``source:``, ``owner:``, ``priority:`` and ``classification:`` tags of
:func:`plan_tags`, read back with :func:`tag_value`. ``Clock`` is the injectable "now".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from cadang.errors import UsageError
from cadang.i18n import _
from cadang.plan.model import Application, Plan, Priority

Clock = Callable[[], dt.datetime]


def local_now() -> dt.datetime:
    return dt.datetime.now().astimezone()


def plan_tags(app: Application, source: str) -> list[str]:
    """The tags every snapshot of a plan source carries."""
    return [
        f"app:{app.name}",
        f"source:{source}",
        f"owner:{app.owner}",
        f"priority:{app.priority.value}",
        f"classification:{app.classification.value}",
    ]


def tag_value(tags: Iterable[str], key: str) -> str | None:
    """The value of the ``key:value`` tag, if the snapshot has one."""
    prefix = key + ":"
    return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), None)


def select_applications(
    plan: Plan, priority: str | Priority | None = None, apps: Sequence[str] | None = None
) -> list[Application]:
    """The applications a run covers, in plan order; unknown names are usage errors."""
    known = [a.name for a in plan.applications]
    wanted = list(dict.fromkeys(apps or []))
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise UsageError(
            _("unknown application(s): {names}").format(names=", ".join(unknown)),
            hint=_("the plan has: {known}").format(known=", ".join(known)),
        )
    prio: Priority | None = None
    if priority is not None:
        try:
            prio = Priority(priority)
        except ValueError:
            raise UsageError(
                _("unknown priority {priority!r}").format(priority=str(priority)),
                hint=_("use one of: {choices}").format(
                    choices=", ".join(p.value for p in Priority)
                ),
            ) from None
    chosen = [
        a
        for a in plan.applications
        if (not wanted or a.name in wanted) and (prio is None or a.priority == prio)
    ]
    if wanted and not chosen:
        raise UsageError(
            _("none of the applications named has priority {priority}").format(
                priority=prio.value if prio else ""
            )
        )
    return chosen


def select_sources(applications: list[Application], sources: Sequence[str]) -> list[Application]:
    """The applications narrowed to the named sources; those left without one are dropped.

    The same source name in two applications selects it in both. A name that none of the
    applications has is a usage error: a retry must not silently back up nothing.
    """
    wanted = set(sources)
    known = {s.name for a in applications for s in a.sources}
    unknown = [n for n in dict.fromkeys(sources) if n not in known]
    if unknown:
        raise UsageError(
            _("unknown source(s): {names}").format(names=", ".join(unknown)),
            hint=_("the applications chosen have: {known}").format(known=", ".join(sorted(known))),
        )
    narrowed = []
    for app in applications:
        kept = [s for s in app.sources if s.name in wanted]
        if kept:
            narrowed.append(app.model_copy(update={"sources": kept}))
    return narrowed
