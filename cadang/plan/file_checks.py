"""Checks made on the plan file as written, before the models see it.

Secrets written into the plan, names used twice and references to unknown repositories,
and a naming template that does not render: each reported at its own line, which the model
validators that also catch some of these cannot give.
"""

from __future__ import annotations

import difflib
from typing import Any

from ruamel.yaml.comments import CommentedMap

from cadang.errors import PlanProblem
from cadang.i18n import _
from cadang.plan.naming import FIELDS, check_template
from cadang.plan.positions import Loc, Positions, show_loc, walk

SECRET_KEYS = frozenset({"password", "passphrase", "passwd"})


def is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.strip().lower() in SECRET_KEYS


def secret_problems(positions: Positions) -> list[PlanProblem]:
    problems = []
    for loc, node in walk(positions.root):
        if not isinstance(node, CommentedMap):
            continue
        for key in node:
            if is_secret_key(key):
                line, col = node.lc.key(key)
                problems.append(
                    PlanProblem(
                        positions.file,
                        line + 1,
                        col + 1,
                        _("{key}: secrets never go in the plan file").format(
                            key=show_loc((*loc, key))
                        ),
                        _("use password_file or password_env (or .pgpass / a MariaDB option file)"),
                    )
                )
    return problems


def reference_problems(positions: Positions) -> list[tuple[Loc, PlanProblem]]:
    """Duplicate names and references to unknown repositories, each at its own line.

    Returned with the ``loc`` of the model validator that reports the same thing without a
    precise position, so that one is dropped.
    """
    root = positions.root
    out: list[tuple[Loc, PlanProblem]] = []
    repos = root.get("repositories")
    repo_names = set(repos) if isinstance(repos, dict) else None
    apps = root.get("applications")
    seen_apps: dict[str, int] = {}
    if isinstance(apps, list):
        for i, app in enumerate(apps):
            if not isinstance(app, dict):
                continue
            name = app.get("name")
            if isinstance(name, str):
                if name in seen_apps:
                    out.append(
                        (
                            (),
                            positions.problem(
                                ("applications", i, "name"),
                                _("application name {name!r} is used twice").format(name=name),
                                _("the other one is on line {line}").format(
                                    line=positions.at("applications", seen_apps[name], "name")[0]
                                ),
                            ),
                        )
                    )
                else:
                    seen_apps[name] = i
            repo = app.get("repository")
            if isinstance(repo, str) and repo_names is not None and repo not in repo_names:
                out.append(
                    (
                        (),
                        positions.problem(
                            ("applications", i, "repository"),
                            _("applications[{i}].repository: unknown repository {name!r}").format(
                                i=i, name=repo
                            ),
                            _known(repo, repo_names, _("repositories")),
                        ),
                    )
                )
            sources = app.get("sources")
            if isinstance(sources, list):
                seen: dict[str, int] = {}
                for j, source in enumerate(sources):
                    sname = source.get("name") if isinstance(source, dict) else None
                    if not isinstance(sname, str):
                        continue
                    if sname in seen:
                        out.append(
                            (
                                ("applications", i, "sources"),
                                positions.problem(
                                    ("applications", i, "sources", j, "name"),
                                    _(
                                        "source name {name!r} is used twice in this application"
                                    ).format(name=sname),
                                    _("the other one is on line {line}").format(
                                        line=positions.at(
                                            "applications", i, "sources", seen[sname], "name"
                                        )[0]
                                    ),
                                ),
                            )
                        )
                    else:
                        seen[sname] = j
    copies = root.get("copies")
    if isinstance(copies, list) and repo_names is not None:
        for i, name in enumerate(copies):
            if isinstance(name, str) and name not in repo_names:
                out.append(
                    (
                        (),
                        positions.problem(
                            ("copies", i),
                            _("copies names unknown repository {name!r}").format(name=name),
                            _known(name, repo_names, _("repositories")),
                        ),
                    )
                )
    return out


def _known(name: str, names: set[Any], where: str) -> str:
    valid = sorted(str(n) for n in names)
    close = difflib.get_close_matches(name, valid, n=1)
    if close:
        return _("did you mean {close!r}?").format(close=close[0])
    return _("the names under {where} are: {names}").format(where=where, names=", ".join(valid))


def template_problems(positions: Positions) -> list[PlanProblem]:
    naming = positions.root.get("naming")
    if not isinstance(naming, dict):
        return []
    template = naming.get("template")
    if not isinstance(template, str):
        return []
    hint = _("fields: {fields}; e.g. {{org}}-{{app}}-{{source}}-{{time:%Y%m%d-%H%M}}").format(
        fields=", ".join(FIELDS)
    )
    return [
        positions.problem(
            ("naming", "template"),
            _("naming.template: {reason}").format(reason=reason),
            hint,
        )
        for reason in check_template(template)
    ]
