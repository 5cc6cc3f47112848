"""Application restore: bring back an application's database or files (SOP 002).

By default nothing is overwritten: a database is restored into a new name beside the
original (``into``, or a dated name the source chooses, e.g. ``<original>_restored_<time>``),
files into a new directory (``into``, or ``./restore-<app>-<source>-<YYYYmmdd-HHMM>``). Only ``in_place`` overwrites, and
then only after the application's ``service.stop`` hook ran successfully; ``service.start``
always runs afterwards (also when the restore failed, so the service is not left down),
followed by ``service.health``. The report says exactly what state the data is in.

Hooks are commands from the plan. A command string is split with :func:`shlex.split` and run
directly, **without a shell** (no pipes, ``&&`` or variables: write ``sh -c '...'`` in the
plan when a shell is really wanted). ``health`` is a command that must exit 0, or an
``http://`` / ``https://`` URL that must answer 2xx; either is tried a few times, since a
service takes a moment to come up.
"""

from __future__ import annotations

import os
import shlex
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cadang.errors import CadangError, RestoreError, SnapshotNotFoundError, UsageError
from cadang.i18n import _
from cadang.plan.model import Application, FilesSource, Plan, SourceConfig
from cadang.plan.repos import open_repository
from cadang.plan.run import Clock, human_size, local_now, tag_value
from cadang.repo.locks import locked
from cadang.repo.policy import newest_first
from cadang.repo.repository import Repository
from cadang.repo.restorer import Restorer
from cadang.repo.snapshot import Snapshot, find_snapshot, load_all
from cadang.repo.streams import SnapshotStreamReader
from cadang.sources.base import RestoreTarget
from cadang.sources.process import run as run_to_completion
from cadang.sources.registry import make_source

# --- hooks ------------------------------------------------------------------------------------


@dataclass
class HookResult:
    name: str  # stop | start | health
    command: str
    ok: bool
    duration: float
    message: str = ""
    attempts: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def run_hook(name: str, command: str, timeout: float) -> HookResult:
    """Run one hook command (split with shlex, no shell); never raises for its failure."""
    start = time.monotonic()
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return HookResult(
            name,
            command,
            False,
            0.0,
            _("the command cannot be split into words: {reason}").format(reason=exc),
        )
    try:
        output = run_to_completion(argv, timeout=timeout)
    except CadangError as exc:
        return HookResult(name, command, False, round(time.monotonic() - start, 3), exc.message)
    last = [ln.strip() for ln in output.splitlines() if ln.strip()][-1:]
    return HookResult(name, command, True, round(time.monotonic() - start, 3), "".join(last))


def _probe_url(url: str, timeout: float) -> tuple[bool, str]:
    request = urllib.request.Request(url, method="GET")  # noqa: S310 - scheme checked by is_url
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return False, _("{url} answered {status}").format(url=url, status=exc.code)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return False, _("{url} did not answer: {reason}").format(url=url, reason=reason)
    if 200 <= status < 300:
        return True, _("{url} answered {status}").format(url=url, status=status)
    return False, _("{url} answered {status}").format(url=url, status=status)


def check_health(
    spec: str,
    *,
    attempts: int = 5,
    delay: float = 2.0,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> HookResult:
    """The health hook: a URL that must answer 2xx, or a command that must exit 0, tried
    up to ``attempts`` times ``delay`` seconds apart."""
    start = time.monotonic()
    message = ""
    for attempt in range(1, attempts + 1):
        if is_url(spec):
            ok, message = _probe_url(spec, timeout)
        else:
            r = run_hook("health", spec, timeout)
            ok, message = r.ok, r.message
        if ok:
            return HookResult(
                "health", spec, True, round(time.monotonic() - start, 3), message, attempt
            )
        if attempt < attempts:
            sleep(delay)
    return HookResult("health", spec, False, round(time.monotonic() - start, 3), message, attempts)


# --- the report -------------------------------------------------------------------------------


@dataclass
class SourceRestore:
    source: str
    kind: str
    snapshot_id: str
    label: str
    time: str
    into: str = ""  # the new name / directory ("" in place)
    restored: list[str] = field(default_factory=list)  # databases / paths written
    details: list[str] = field(default_factory=list)
    ok: bool = False
    error: str = ""
    state_known: bool = False  # the error itself says what state the data is in

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RestoreReport:
    app: str
    repository: str
    in_place: bool
    sources: list[SourceRestore] = field(default_factory=list)
    hooks: list[HookResult] = field(default_factory=list)
    state: str = ""  # in words: what state the data and the service are in
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            bool(self.sources) and all(s.ok for s in self.sources) and all(h.ok for h in self.hooks)
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "repository": self.repository,
            "in_place": self.in_place,
            "ok": self.ok,
            "state": self.state,
            "duration": self.duration,
            "sources": [s.to_json() for s in self.sources],
            "hooks": [h.to_json() for h in self.hooks],
        }


# --- the restore ------------------------------------------------------------------------------


class ApplicationRestore:
    """Restore one application's source (or all its sources) from its snapshots."""

    def __init__(
        self,
        plan: Plan,
        app: str,
        *,
        source: str | None = None,
        snapshot: str = "latest",
        into: str | None = None,
        in_place: bool = False,
        clock: Clock = local_now,
        lock_wait: float = 30.0,
        hook_timeout: float = 600.0,
        health_attempts: int = 5,
        health_delay: float = 2.0,
        health_timeout: float = 10.0,
    ) -> None:
        application = plan.application(app)
        if application is None:
            raise UsageError(
                _("unknown application {name!r}").format(name=app),
                hint=_("the plan has: {known}").format(
                    known=", ".join(a.name for a in plan.applications)
                ),
            )
        if source is not None and source not in [s.name for s in application.sources]:
            raise UsageError(
                _("application {app} has no source {source!r}").format(app=app, source=source),
                hint=_("its sources: {known}").format(
                    known=", ".join(s.name for s in application.sources)
                ),
            )
        if in_place and into:
            raise UsageError(
                _("--into and --in-place exclude each other"),
                hint=_("--into restores beside the original; --in-place overwrites it"),
            )
        if in_place and (application.service is None or not application.service.stop):
            raise UsageError(
                _(
                    "application {app} has no service.stop hook: an in-place restore "
                    "overwrites the data only after the service was stopped"
                ).format(app=app),
                hint=_(
                    "add service.stop (and start, health) to the plan, or restore into a new name"
                ),
            )
        self.plan = plan
        self.app: Application = application
        self.source = source
        self.snapshot = snapshot or "latest"
        self.into = into
        self.in_place = in_place
        self.clock = clock
        self.lock_wait = lock_wait
        self.hook_timeout = hook_timeout
        self.health_attempts = health_attempts
        self.health_delay = health_delay
        self.health_timeout = health_timeout

    # --- choosing snapshots ---------------------------------------------------------------
    def _config(self, name: str) -> SourceConfig:
        for c in self.app.sources:
            if c.name == name:
                return c
        raise UsageError(
            _("the snapshot is of source {source!r}, which application {app} no longer has").format(
                source=name, app=self.app.name
            ),
            hint=_(
                "put the source back in the plan to restore it, or use 'cadang restore' with --repo"
            ),
        )

    def choose(
        self, repo: Repository, snaps: list[Snapshot]
    ) -> list[tuple[SourceConfig, Snapshot]]:
        """The (source, snapshot) pairs to restore."""
        mine = [s for s in snaps if tag_value(s.tags, "app") == self.app.name]
        if self.source is not None:
            mine = [s for s in mine if tag_value(s.tags, "source") == self.source]
        if self.snapshot != "latest":
            if not mine:
                raise SnapshotNotFoundError(self._none_yet())
            snap = find_snapshot_in(repo, mine, self.snapshot, self.app.name)
            src = tag_value(snap.tags, "source") or ""
            pairs = [(self._config(src), snap)]
        else:
            names = [self.source] if self.source else [c.name for c in self.app.sources]
            pairs = []
            for name in names:
                of_source = [s for s in mine if tag_value(s.tags, "source") == name]
                if not of_source:
                    raise SnapshotNotFoundError(
                        _("application {app} has no snapshot of source {source} yet").format(
                            app=self.app.name, source=name
                        ),
                        hint=_("back it up first: cadang -c PLAN run --app {app}").format(
                            app=self.app.name
                        ),
                    )
                pairs.append((self._config(name), newest_first(of_source)[0]))
        if self.into and len(pairs) > 1:
            raise UsageError(
                _("application {app} has several sources ({names}); --into names one").format(
                    app=self.app.name, names=", ".join(c.name for c, _s in pairs)
                ),
                hint=_("choose the source with --source"),
            )
        return pairs

    def _none_yet(self) -> str:
        return _("application {app} has no snapshots yet").format(app=self.app.name)

    # --- running --------------------------------------------------------------------------
    def run(self) -> RestoreReport:
        start = time.monotonic()
        repo_name, ref = self.plan.repository_for(self.app)
        report = RestoreReport(self.app.name, repo_name, self.in_place)
        repo = open_repository(repo_name, ref)
        try:
            with locked(repo, exclusive=False, wait=self.lock_wait):
                repo.load_index()
                pairs = self.choose(repo, load_all(repo, errors=[]))
                if self.in_place:
                    self._in_place(repo, pairs, report)
                else:
                    for config, snap in pairs:
                        report.sources.append(self._restore_one(repo, config, snap))
                    report.state = self._state_beside(report)
        finally:
            repo.close()
        report.duration = round(time.monotonic() - start, 3)
        return report

    def _in_place(
        self, repo: Repository, pairs: list[tuple[SourceConfig, Snapshot]], report: RestoreReport
    ) -> None:
        service = self.app.service
        assert service is not None and service.stop  # checked in __init__
        stop = run_hook("stop", service.stop, self.hook_timeout)
        report.hooks.append(stop)
        states: list[str] = []
        try:
            if not stop.ok:
                states.append(
                    _(
                        "the service stop hook failed ({reason}): nothing was restored, "
                        "the data is unchanged"
                    ).format(reason=stop.message)
                )
                return
            for config, snap in pairs:
                result = self._restore_one(repo, config, snap)
                report.sources.append(result)
                states.append(self._state_in_place(result))
                if not result.ok:
                    break  # the service comes back; the rest are left as they were
            left = [c.name for c, _s in pairs[len(report.sources) :]]
            if left:
                states.append(_("not restored (unchanged): {names}").format(names=", ".join(left)))
        finally:
            # Whatever happened, the service is started again.
            if service.start:
                start = run_hook("start", service.start, self.hook_timeout)
                report.hooks.append(start)
                if not start.ok:
                    states.append(
                        _(
                            "the service start hook failed ({reason}): the service may be "
                            "down; start it by hand"
                        ).format(reason=start.message)
                    )
                elif service.health:
                    health = check_health(
                        service.health,
                        attempts=self.health_attempts,
                        delay=self.health_delay,
                        timeout=self.health_timeout,
                    )
                    report.hooks.append(health)
                    if health.ok:
                        states.append(_("the service is running and healthy"))
                    else:
                        states.append(
                            _("the service was started but is not healthy: {reason}").format(
                                reason=health.message
                            )
                        )
            else:
                states.append(_("no service.start hook: start the service by hand"))
            report.state = " ".join(states)

    def _restore_one(self, repo: Repository, config: SourceConfig, snap: Snapshot) -> SourceRestore:
        result = SourceRestore(
            source=config.name,
            kind=config.type,
            snapshot_id=snap.id,
            label=snap.label,
            time=snap.time.isoformat(timespec="seconds"),
        )
        try:
            if isinstance(config, FilesSource):
                self._restore_files(repo, config, snap, result)
            else:
                self._restore_streams(repo, config, snap, result)
        except RestoreError as exc:
            # The sources' restore errors say what state the data is in.
            result.ok = False
            result.error = exc.message
            result.state_known = True
        except CadangError as exc:
            result.ok = False
            result.error = exc.message
        except OSError as exc:
            result.ok = False
            result.error = _("{what}: {reason}").format(
                what=exc.filename or config.name, reason=exc.strerror or str(exc)
            )
        return result

    def _restore_streams(
        self, repo: Repository, config: SourceConfig, snap: Snapshot, result: SourceRestore
    ) -> None:
        source = make_source(config)
        target = RestoreTarget(into=self.into, in_place=self.in_place)
        outcome = source.restore(SnapshotStreamReader(repo, snap), target)
        result.into = "" if self.in_place else (self.into or ", ".join(outcome.restored))
        result.restored = list(outcome.restored)
        result.details = list(outcome.details)
        result.ok = True

    def _restore_files(
        self, repo: Repository, config: FilesSource, snap: Snapshot, result: SourceRestore
    ) -> None:
        if self.in_place:
            target, includes = "/", list(snap.paths)
        else:
            when = self.clock().strftime("%Y%m%d-%H%M")
            target = os.path.abspath(self.into or f"restore-{self.app.name}-{config.name}-{when}")
            includes = []
            result.into = target
        summary = Restorer(repo).restore(snap, target, includes)
        result.restored = [
            p if self.in_place else os.path.join(target, p.lstrip("/")) for p in snap.paths
        ]
        result.details = [
            _("{files} files, {dirs} directories, {size}").format(
                files=summary.files, dirs=summary.dirs, size=human_size(summary.bytes)
            ),
            *summary.warnings,
            *(_("{path}: {message}").format(path=p, message=m) for p, m in summary.errors),
        ]
        if self.in_place:
            result.details.append(_("files created after the snapshot were left where they are"))
        if summary.errors:
            raise RestoreError(
                _(
                    "{n} path(s) could not be restored; the other files were restored, so the "
                    "folder in place is partly restored"
                ).format(n=len(summary.errors))
            )
        result.ok = True

    # --- words for the state ----------------------------------------------------------------
    def _state_in_place(self, r: SourceRestore) -> str:
        if r.ok:
            return _("{source}: restored in place from snapshot {id} ({time}).").format(
                source=r.source, id=r.snapshot_id[:8], time=r.time
            )
        if r.state_known:  # e.g. PostgreSQL rolled back; MariaDB was emptied and partly loaded
            return _(
                "{source}: the restore failed: {reason}. Snapshot {id} is intact: fix the cause "
                "and run the restore again."
            ).format(source=r.source, reason=r.error, id=r.snapshot_id[:8])
        return _(
            "{source}: the restore failed: {reason}. The data in place may be partly "
            "restored; snapshot {id} is intact: run the restore again."
        ).format(source=r.source, reason=r.error, id=r.snapshot_id[:8])

    def _state_beside(self, report: RestoreReport) -> str:
        parts = []
        for r in report.sources:
            if r.ok:
                parts.append(
                    _(
                        "{source}: restored from snapshot {id} ({time}) into {into}; "
                        "the original was not touched."
                    ).format(source=r.source, id=r.snapshot_id[:8], time=r.time, into=r.into)
                )
            else:
                parts.append(
                    _(
                        "{source}: the restore failed: {reason}. What was written so far "
                        "may be incomplete and can be removed; the original was not touched."
                    ).format(source=r.source, reason=r.error)
                )
        return " ".join(parts)


def find_snapshot_in(repo: Repository, snaps: list[Snapshot], ref: str, app: str) -> Snapshot:
    """``ref`` (id prefix or label) among an application's snapshots."""
    ordered = sorted(snaps, key=lambda s: (s.time, s.id))
    try:
        return find_snapshot(repo, ref, ordered)
    except SnapshotNotFoundError:
        raise SnapshotNotFoundError(
            _("application {app} has no snapshot {ref!r}").format(app=app, ref=ref),
            hint=_("'cadang -c PLAN history {app}' lists them").format(app=app),
        ) from None
