"""Reading the plan file: YAML with line numbers, validated, every problem reported at once.

The file is parsed with ruamel.yaml's round-trip loader so every mapping and list knows
where it is in the file; the pydantic models of :mod:`cadang.plan.model` validate it, and
each validation error is turned into a :class:`~cadang.errors.PlanProblem` with the file,
line and column it is about, a message in the user's language and a hint. A plan with any
problem is refused as a whole (:class:`~cadang.errors.PlanError`), so a mistake never
starts a half run.

Relative paths in the plan (repository paths, password and option files, SQLite files and
files to back up) are taken relative to the folder of the plan file, not to the directory
cadang happens to be started in (cron starts it in ``/``); ``~`` is expanded.

This module reads, parses and validates; the parts live beside it:
:mod:`cadang.plan.positions` (lines and columns), :mod:`cadang.plan.file_checks` (checks
on the file as written) and :mod:`cadang.plan.problems` (pydantic errors translated).
Their public names are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from cadang.errors import PlanError, PlanProblem
from cadang.i18n import _, ngettext
from cadang.plan.file_checks import (
    SECRET_KEYS,
    reference_problems,
    secret_problems,
    template_problems,
)
from cadang.plan.model import Plan
from cadang.plan.positions import Loc, Located, PathElem, Positions, node_start
from cadang.plan.problems import SOURCE_TYPES, translate

__all__ = [
    "SECRET_KEYS",
    "SOURCE_TYPES",
    "Loc",
    "Located",
    "PathElem",
    "PlanError",
    "PlanProblem",
    "Positions",
    "load_plan",
    "load_plan_with_positions",
    "plan_error",
    "resolve_path",
]

# Keys whose (string or list of strings) values are paths, relative to the plan file.
_REPO_PATH_KEYS = ("path", "password_file")
_SOURCE_PATH_KEYS = ("password_file", "option_file", "path", "paths")


# --- loading --------------------------------------------------------------------------------


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read and validate a plan file; raise PlanError listing every problem."""
    return load_plan_with_positions(path)[0]


def load_plan_with_positions(path: str | os.PathLike[str]) -> tuple[Plan, Positions]:
    """Like :func:`load_plan`, and also where each part of the plan is in the file."""
    file = os.fspath(path)
    text = _read(file)
    root = _parse(file, text)
    positions = Positions(file, root)
    problems: list[PlanProblem] = []
    problems += secret_problems(positions)
    references = reference_problems(positions)
    problems += [p for _loc, p in references]
    problems += template_problems(positions)
    plan: Plan | None = None
    try:
        plan = Plan.model_validate(_plain(root, Path(file).resolve().parent))
    except ValidationError as exc:
        suppressed = {loc for loc, _p in references}
        problems += translate(exc.errors(), positions, suppressed)
    if problems or plan is None:
        raise plan_error(file, problems)
    return plan, positions


def plan_error(file: str, problems: list[PlanProblem]) -> PlanError:
    """The PlanError for these problems, sorted by position, its message listing them all."""
    problems = sorted(problems, key=lambda p: (p.line, p.column))
    count = ngettext(
        "the plan {file} has {n} problem:", "the plan {file} has {n} problems:", len(problems)
    ).format(file=file, n=len(problems))
    message = "\n".join([count, *(f"  {p}" for p in problems)])
    return PlanError(
        message,
        problems,
        hint=_("fix them and check again with: cadang -c {file} plan check").format(file=file),
    )


def _fail(file: str, message: str, hint: str | None = None, line: int = 0, col: int = 0) -> None:
    raise plan_error(file, [PlanProblem(file, line, col, message, hint)])


def _read(file: str) -> str:
    try:
        with open(file, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        _fail(
            file,
            _("the plan file {file} does not exist").format(file=file),
            _("write an example with: cadang plan init {file}").format(file=file),
        )
    except IsADirectoryError:
        _fail(file, _("{file} is a folder, not a plan file").format(file=file))
    except UnicodeDecodeError as exc:
        _fail(
            file,
            _("the plan file is not UTF-8 text (byte {offset})").format(offset=exc.start),
            _("save it as UTF-8"),
        )
    except OSError as exc:
        _fail(
            file,
            _("cannot read the plan file {file}: {reason}").format(
                file=file, reason=exc.strerror or exc
            ),
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _parse(file: str, text: str) -> CommentedMap:
    yaml = YAML(typ="rt")
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = str(exc.problem or exc.context or exc)
        if exc.problem and exc.context:
            reason += f" ({exc.context})"
        if isinstance(exc, DuplicateKeyError):
            hint = _("each key may appear only once in a mapping: remove or rename one")
        else:
            hint = _("check the indentation (spaces, not tabs) and the quotes on this line")
        _fail(
            file,
            _("YAML syntax error: {reason}").format(reason=reason),
            hint,
            line=mark.line + 1 if mark else 0,
            col=mark.column + 1 if mark else 0,
        )
    except Exception as exc:  # any other parser failure: say it, never a traceback
        _fail(file, _("YAML error: {reason}").format(reason=exc))
    if root is None:
        _fail(
            file,
            _("the plan file is empty"),
            _("write an example with: cadang plan init {file} --force").format(file=file),
        )
    if not isinstance(root, CommentedMap):
        line, col = node_start(root)
        _fail(
            file,
            _("the plan must be a mapping of keys (organization, repositories, applications, ...)"),
            _("start from the example: cadang plan init"),
            line=line + 1,
            col=col + 1,
        )
    assert isinstance(root, CommentedMap)
    return root


def _plain(node: Any, base: Path) -> Any:
    """The YAML tree as plain Python values, relative paths made absolute against ``base``."""
    data = _to_plain(node)
    if not isinstance(data, dict):
        return data
    _resolve_keys(data, ("state_dir",), base)
    _resolve_keys(data.get("antivirus"), ("clamd_socket", "database"), base)
    repos = data.get("repositories")
    if isinstance(repos, dict):
        for ref in repos.values():
            _resolve_keys(ref, _REPO_PATH_KEYS, base)
    apps = data.get("applications")
    if isinstance(apps, list):
        for app in apps:
            sources = app.get("sources") if isinstance(app, dict) else None
            if isinstance(sources, list):
                for source in sources:
                    _resolve_keys(source, _SOURCE_PATH_KEYS, base)
    return data


def _to_plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {_to_plain(k): _to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_to_plain(v) for v in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _resolve_keys(mapping: Any, keys: Sequence[str], base: Path) -> None:
    if not isinstance(mapping, dict):
        return
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str):
            mapping[key] = resolve_path(value, base)
        elif isinstance(value, list):
            mapping[key] = [resolve_path(v, base) if isinstance(v, str) else v for v in value]


def resolve_path(value: str, base: Path) -> str:
    """``value`` with ``~`` expanded, relative to ``base``; URLs and '' are left alone."""
    if not value or "://" in value or value.startswith("mem:"):
        return value
    expanded = os.path.expanduser(value)
    if os.path.isabs(expanded):
        return expanded
    return os.path.normpath(os.path.join(base, expanded))
