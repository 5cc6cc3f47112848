"""The checks of ``plan check`` beyond the file itself: is this machine ready to run the plan?

For each source: the programs it needs are installed (the message names the Debian package),
its secrets can be read, and (unless offline) the database answers. For each repository:
its passphrase can be read and (unless offline) it is a Cadang repository the passphrase
opens, or a folder where one can be created. An external disk listed under ``copies`` that
is not plugged in is a warning, not an error. Every problem points to the line of the plan
file it is about.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Mapping

from cadang.errors import CadangError, PlanProblem
from cadang.i18n import _
from cadang.plan.loader import Positions
from cadang.plan.model import Plan, RepositoryRef, SourceConfig

__all__ = ["check_environment"]

_DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def check_environment(
    plan: Plan,
    positions: Positions,
    *,
    offline: bool = False,
) -> list[PlanProblem]:
    """Every problem that would stop the plan from running on this machine.

    ``offline`` skips what needs the databases and the repositories (probes, opening the
    repositories); tools and secrets are still checked.
    """
    env = os.environ  # read at run time too (repos.read_passphrase, the source tools)
    problems: list[PlanProblem] = []
    for i, app in enumerate(plan.applications):
        for j, config in enumerate(app.sources):
            loc = ("applications", i, "sources", j)
            problems += _check_source(
                f"{app.name}/{config.name}", config, loc, positions, offline, env
            )
    for name, ref in plan.repositories.items():
        problems += _check_repository(name, ref, name in plan.copies, positions, offline, env)
    return sorted(problems, key=lambda p: (p.line, p.column))


# --- sources --------------------------------------------------------------------------------


def _check_source(
    label: str,
    config: SourceConfig,
    loc: tuple[str | int, ...],
    positions: Positions,
    offline: bool,
    env: Mapping[str, str],
) -> list[PlanProblem]:
    from cadang.sources.registry import make_source

    problems: list[PlanProblem] = []
    try:
        source = make_source(config)
    except CadangError as exc:
        return [positions.problem(loc, _prefixed(label, exc.message), exc.hint)]
    try:
        tools = source.required_tools()
    except CadangError as exc:
        return [positions.problem(loc, _prefixed(label, exc.message), exc.hint)]
    for tool in tools:
        if shutil.which(tool.command) is None:
            problems.append(
                positions.problem(
                    loc,
                    _("{source}: the program {command} is not installed").format(
                        source=label, command=tool.command
                    ),
                    _install_hint(tool.package),
                )
            )
    password_file = getattr(config, "password_file", None)
    if password_file:
        problems += _check_secret_file(
            password_file,
            (*loc, "password_file"),
            positions,
            _("{source}: password file").format(source=label),
        )
    password_env = getattr(config, "password_env", None)
    if password_env:
        problems += _check_secret_env(password_env, (*loc, "password_env"), positions, label, env)
    option_file = getattr(config, "option_file", None)
    if option_file:
        problems += _check_secret_file(
            option_file,
            (*loc, "option_file"),
            positions,
            _("{source}: option file").format(source=label),
            must_not_be_empty=False,
        )
    if offline or any(p.is_error for p in problems):
        return problems  # a probe without its tools or secrets would only repeat them
    try:
        source.probe()
    except CadangError as exc:
        problems.append(positions.problem(loc, _prefixed(label, exc.message), exc.hint))
    except OSError as exc:
        problems.append(positions.problem(loc, _prefixed(label, str(exc.strerror or exc)), None))
    return problems


def _prefixed(label: str, message: str) -> str:
    return _("{source}: {message}").format(source=label, message=message)


def _install_hint(package: str) -> str:
    if not package:
        return _("install it, or give the program's full path")
    if _DEBIAN_PACKAGE.match(package):
        return _("install the Debian package {package}: apt install {package}").format(
            package=package
        )
    return _("install {package}, or give the program's full path").format(package=package)


# --- secrets --------------------------------------------------------------------------------


def _check_secret_file(
    path: str,
    loc: tuple[str | int, ...],
    positions: Positions,
    what: str,
    must_not_be_empty: bool = True,
) -> list[PlanProblem]:
    """The file exists, is a regular file this user can read, is not empty; warn when other
    users can read it."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return [
            positions.problem(
                loc,
                _("{what} {path} does not exist").format(what=what, path=path),
                _("create it, readable only by the user cadang runs as (chmod 600)"),
            )
        ]
    except OSError as exc:
        return [
            positions.problem(
                loc,
                _("{what} {path} cannot be read: {reason}").format(
                    what=what, path=path, reason=exc.strerror
                ),
            )
        ]
    if not stat.S_ISREG(st.st_mode):
        return [
            positions.problem(
                loc,
                _("{what} {path} is not a regular file").format(what=what, path=path),
            )
        ]
    try:
        with open(path, "rb") as f:
            content = f.read()
    except OSError as exc:
        return [
            positions.problem(
                loc,
                _("{what} {path} cannot be read: {reason}").format(
                    what=what, path=path, reason=exc.strerror
                ),
                _("make it readable by the user cadang runs as"),
            )
        ]
    problems = []
    if must_not_be_empty and not content.strip(b"\r\n"):
        problems.append(
            positions.problem(loc, _("{what} {path} is empty").format(what=what, path=path))
        )
    if st.st_mode & 0o077:
        problems.append(
            positions.problem(
                loc,
                _("{what} {path} can be read by other users (mode {mode})").format(
                    what=what, path=path, mode=oct(stat.S_IMODE(st.st_mode))[2:]
                ),
                _("chmod 600 {path}").format(path=path),
                severity="warning",
            )
        )
    return problems


def _check_secret_env(
    var: str,
    loc: tuple[str | int, ...],
    positions: Positions,
    label: str,
    env: Mapping[str, str],
) -> list[PlanProblem]:
    if var not in env:
        return [
            positions.problem(
                loc,
                _("{source}: the environment variable {var} is not set").format(
                    source=label, var=var
                ),
                _(
                    "set it where cadang runs (e.g. in the cron job or service unit), or use password_file"
                ),
            )
        ]
    if not env[var]:
        return [
            positions.problem(
                loc,
                _("{source}: the environment variable {var} is empty").format(
                    source=label, var=var
                ),
            )
        ]
    return []


# --- repositories ---------------------------------------------------------------------------


def _check_repository(
    name: str,
    ref: RepositoryRef,
    is_copy: bool,
    positions: Positions,
    offline: bool,
    env: Mapping[str, str],
) -> list[PlanProblem]:
    loc: tuple[str | int, ...] = ("repositories", name)
    label = _("repository {name}").format(name=name)
    problems: list[PlanProblem] = []
    if ref.password_file:
        problems += _check_secret_file(
            ref.password_file,
            (*loc, "password_file"),
            positions,
            _("{repository}: password file").format(repository=label),
        )
    elif ref.password_env:
        problems += _check_secret_env(
            ref.password_env, (*loc, "password_env"), positions, label, env
        )
    if offline:
        return problems
    secrets_ok = not any(p.is_error for p in problems)
    return problems + _check_repository_path(name, ref, label, is_copy, loc, positions, secrets_ok)


def _check_repository_path(
    name: str,
    ref: RepositoryRef,
    label: str,
    is_copy: bool,
    loc: tuple[str | int, ...],
    positions: Positions,
    secrets_ok: bool,
) -> list[PlanProblem]:
    from cadang.backends import open_backend
    from cadang.backends.local import LocalBackend
    from cadang.plan import repos

    path_loc = (*loc, "path")
    try:
        backend = open_backend(ref.path)
    except CadangError as exc:
        return [positions.problem(path_loc, _prefixed(label, exc.message), exc.hint)]
    if not isinstance(backend, LocalBackend):
        return []
    path = backend.location()
    init_hint = _("create it with: cadang init --repo {path}").format(path=path)
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "config")):
            if not secrets_ok:
                return []
            try:
                repo = repos.open_repository(name, ref)
            except CadangError as exc:
                return [positions.problem(loc, _prefixed(label, exc.message), exc.hint)]
            repo.close()
            return []
        try:
            empty = not os.listdir(path)
        except OSError as exc:
            return [
                positions.problem(
                    path_loc,
                    _("{repository}: cannot read {path}: {reason}").format(
                        repository=label, path=path, reason=exc.strerror
                    ),
                )
            ]
        if not empty:
            return [
                positions.problem(
                    path_loc,
                    _(
                        "{repository}: {path} is not a Cadang repository (it holds other files)"
                    ).format(repository=label, path=path),
                    _("give an empty or new folder for the repository"),
                )
            ]
        return [
            positions.problem(
                path_loc,
                _("{repository}: there is no repository in {path} yet").format(
                    repository=label, path=path
                ),
                init_hint,
                severity="warning",
            )
        ]
    if os.path.lexists(path):
        return [
            positions.problem(
                path_loc,
                _("{repository}: {path} is not a folder").format(repository=label, path=path),
            )
        ]
    parent = os.path.dirname(path)
    if is_copy:
        return [
            positions.problem(
                path_loc,
                _("{repository}: {path} is not present (is the external disk plugged in?)").format(
                    repository=label, path=path
                ),
                _(
                    "copies to it are skipped until it is there; to start one: cadang init --repo {path}"
                ).format(path=path),
                severity="warning",
            )
        ]
    if not os.path.isdir(parent):
        return [
            positions.problem(
                path_loc,
                _("{repository}: {path} does not exist, nor does its folder {parent}").format(
                    repository=label, path=path, parent=parent
                ),
                _("check the path; is the disk mounted?"),
            )
        ]
    if not os.access(parent, os.W_OK | os.X_OK):
        return [
            positions.problem(
                path_loc,
                _("{repository}: {path} does not exist and {parent} is not writable").format(
                    repository=label, path=path, parent=parent
                ),
                _("create the folder as a user who may, or give another path"),
            )
        ]
    return [
        positions.problem(
            path_loc,
            _("{repository}: there is no repository at {path} yet").format(
                repository=label, path=path
            ),
            init_hint,
            severity="warning",
        )
    ]
