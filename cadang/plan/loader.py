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
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from cadang.errors import PlanError, PlanProblem
from cadang.i18n import _, ngettext
from cadang.plan.model import Plan
from cadang.plan.naming import FIELDS, check_template

__all__ = [
    "PlanError",
    "PlanProblem",
    "Positions",
    "load_plan",
    "load_plan_with_positions",
    "plan_error",
]

SECRET_KEYS = frozenset({"password", "passphrase", "passwd"})
SOURCE_TYPES = ("files", "postgres", "mariadb", "mysql", "sqlite", "oracle", "command")
# Keys whose (string or list of strings) values are paths, relative to the plan file.
_REPO_PATH_KEYS = ("path", "password_file")
_SOURCE_PATH_KEYS = ("password_file", "option_file", "path", "paths")

PathElem = str | int
Loc = tuple[PathElem, ...]


# --- positions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Located:
    """Where a pydantic ``loc`` points in the file, with the union tags taken out."""

    path: Loc  # keys and list indexes as in the YAML
    line: int  # 1-based; 0 when unknown
    column: int
    found: bool  # the whole path exists in the file
    union_at: Loc | None  # where a (non-discriminated) union was, if the error is in one
    is_key: bool  # the error is about a mapping key itself (dict key validation)


class Positions:
    """Lines and columns of the nodes of one loaded plan file (kept for later checks)."""

    def __init__(self, file: str, root: Any) -> None:
        self.file = file
        self.root = root

    def locate(self, loc: Sequence[PathElem], key: bool = False) -> Located:
        """Where ``loc`` is; a scalar's value unless ``key`` (then the key before it)."""
        node: Any = self.root
        line, col = _node_start(node)
        path: list[PathElem] = []
        found = True
        union_at: Loc | None = None
        is_key = False
        elems = list(loc)
        for n, elem in enumerate(elems):
            last = n == len(elems) - 1
            if elem == "[key]":
                is_key = True
                break
            if isinstance(node, CommentedMap):
                if elem in node:
                    value = node[elem]
                    if (
                        last
                        and not key
                        and not isinstance(value, CommentedMap | CommentedSeq | None)
                    ):
                        line, col = node.lc.value(elem)
                    else:
                        line, col = node.lc.key(elem)
                    path.append(elem)
                    node = value
                    continue
                if isinstance(elem, str) and node.get("type") == elem:
                    continue  # the tag of a discriminated union: not in the file
                found = False
                path.append(elem)
                break
            if isinstance(node, CommentedSeq) and isinstance(elem, int):
                if 0 <= elem < len(node):
                    line, col = node.lc.item(elem)
                    path.append(elem)
                    node = node[elem]
                    continue
                found = False
                path.append(elem)
                break
            if isinstance(elem, str):
                if union_at is None:  # a union member's name, e.g. 'list[str]'
                    union_at = tuple(path)
                continue
            found = False
            path.append(elem)
            break
        return Located(tuple(path), line + 1, col + 1, found, union_at, is_key)

    def at(self, *loc: PathElem) -> tuple[int, int]:
        """1-based (line, column) of the deepest node of ``loc`` that is in the file."""
        where = self.locate(loc)
        return where.line, where.column

    def problem(
        self,
        loc: Sequence[PathElem],
        message: str,
        hint: str | None = None,
        severity: str = "error",
    ) -> PlanProblem:
        line, col = self.at(*loc)
        return PlanProblem(self.file, line, col, message, hint, severity)

    def node(self, *loc: PathElem) -> Any:
        """The raw YAML node at ``loc`` (None when absent)."""
        node: Any = self.root
        for elem in loc:
            try:
                node = node[elem]
            except (KeyError, IndexError, TypeError):
                return None
        return node


def _node_start(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return (0, 0)
    return (int(lc.line), int(lc.col))


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
    problems += _secret_problems(positions)
    references = _reference_problems(positions)
    problems += [p for _loc, p in references]
    problems += _template_problems(positions)
    plan: Plan | None = None
    try:
        plan = Plan.model_validate(_plain(root, Path(file).resolve().parent))
    except ValidationError as exc:
        suppressed = {loc for loc, _p in references}
        problems += _translate(exc.errors(), positions, suppressed)
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
        line, col = _node_start(root)
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


# --- checks on the raw file -----------------------------------------------------------------


def _walk(node: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Any]]:
    yield loc, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, (*loc, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*loc, i))


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.strip().lower() in SECRET_KEYS


def _secret_problems(positions: Positions) -> list[PlanProblem]:
    problems = []
    for loc, node in _walk(positions.root):
        if not isinstance(node, CommentedMap):
            continue
        for key in node:
            if _is_secret_key(key):
                line, col = node.lc.key(key)
                problems.append(
                    PlanProblem(
                        positions.file,
                        line + 1,
                        col + 1,
                        _("{key}: secrets never go in the plan file").format(
                            key=_show_loc((*loc, key))
                        ),
                        _("use password_file or password_env (or .pgpass / a MariaDB option file)"),
                    )
                )
    return problems


def _reference_problems(positions: Positions) -> list[tuple[Loc, PlanProblem]]:
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


def _template_problems(positions: Positions) -> list[PlanProblem]:
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


# --- pydantic errors, translated ------------------------------------------------------------


def _translate(
    errors: list[ErrorDetails], positions: Positions, suppressed: set[Loc]
) -> list[PlanProblem]:
    problems: list[PlanProblem] = []
    unions: dict[Loc, list[tuple[ErrorDetails, Located]]] = {}
    for err in errors:
        kind = err["type"]
        where = positions.locate(err["loc"], key=kind == "extra_forbidden")
        if kind == "extra_forbidden" and where.path and _is_secret_key(where.path[-1]):
            continue  # reported by _secret_problems
        if kind == "value_error" and where.path in suppressed:
            continue  # reported with a precise position by _reference_problems
        if where.union_at is not None:
            unions.setdefault(where.union_at, []).append((err, where))
            continue
        problems.append(_problem(err, where, positions))
    for path, group in unions.items():
        deeper = [(e, w) for e, w in group if len(w.path) > len(path)]
        if deeper:  # the value had the shape of one member: its own errors say most
            problems += [_problem(e, w, positions) for e, w in deeper]
            continue
        err, where = group[0]
        alternatives = " " + _("or") + " "
        expected = alternatives.join(_expected(e) for e, _w in group)
        problems.append(
            PlanProblem(
                positions.file,
                where.line,
                where.column,
                _("{key} must be {expected}, not {value}").format(
                    key=_show_loc(path), expected=expected, value=_show_value(err["input"])
                ),
            )
        )
    return problems


def _problem(err: ErrorDetails, where: Located, positions: Positions) -> PlanProblem:
    if err["type"] == "union_tag_invalid":
        where = positions.locate((*err["loc"], "type"))  # point at the type itself
        where = Located(where.path[:-1], where.line, where.column, True, None, False)
    message, hint = _message(err, where)
    return PlanProblem(positions.file, where.line, where.column, message, hint)


def _message(err: ErrorDetails, where: Located) -> tuple[str, str | None]:
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    value = err.get("input")
    path = where.path
    key = _show_loc(path)
    name = _last_key(path)
    if where.is_key:
        key = _show_loc(path)
        if kind == "string_pattern_mismatch":
            return (
                _("{key}: {value!r} is not a valid name").format(key=key, value=value),
                _("use lowercase letters, digits, - _ . (starting with a letter or digit)"),
            )
        if kind == "enum":
            return (
                _("{key}: {value!r} is not one of {allowed}").format(
                    key=key, value=value, allowed=_allowed(ctx.get("expected", ""))
                ),
                None,
            )
    if kind == "missing":
        return (
            _("{key} is required").format(key=key),
            _("add '{name}:' here").format(name=name) if name else None,
        )
    if kind == "extra_forbidden":
        allowed = _allowed_keys(err["loc"][:-1])
        close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.6)
        if close:
            hint = _("did you mean {close}?").format(close=close[0])
        elif allowed:
            hint = _("allowed here: {keys}").format(keys=", ".join(allowed))
        else:
            hint = None
        return _("{where}: unknown key {key!r}").format(where=_show_loc(path[:-1]), key=name), hint
    if value is None and kind not in ("value_error",):
        return _("{key} has no value").format(key=key), _("write a value after the colon")
    if kind in ("literal_error", "enum"):
        return (
            _("{key}: {value!r} is not one of {allowed}").format(
                key=key, value=value, allowed=_allowed(ctx.get("expected", ""))
            ),
            None,
        )
    if kind in ("union_tag_invalid",):
        tags = _allowed(ctx.get("expected_tags", "")) or ", ".join(SOURCE_TYPES)
        return (
            _("unknown source type {value!r}; use one of {types}").format(
                value=ctx.get("tag", ""), types=tags
            ),
            _close_hint(str(ctx.get("tag", "")), SOURCE_TYPES),
        )
    if kind == "union_tag_not_found":
        return (
            _("{key}: the source type is missing").format(key=key),
            _("add 'type:' with one of {types}").format(types=", ".join(SOURCE_TYPES)),
        )
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("{key} must be a whole number, not {value}").format(
            key=key, value=_show_value(value)
        ), None
    if kind in ("string_type",):
        return (
            _("{key} must be text, not {value}").format(key=key, value=_show_value(value)),
            _("put the value in quotes"),
        )
    if kind in ("bool_type", "bool_parsing"):
        return _("{key} must be true or false, not {value}").format(
            key=key, value=_show_value(value)
        ), None
    if kind in ("list_type", "tuple_type"):
        return (
            _("{key} must be a list, not {value}").format(key=key, value=_show_value(value)),
            _("write each item on its own line starting with '- ', or as [a, b]"),
        )
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return (
            _("{key} must be a mapping of keys, not {value}").format(
                key=key, value=_show_value(value)
            ),
            _("write 'key: value' lines indented below it"),
        )
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {
            "greater_than_equal": _("at least {n}"),
            "greater_than": _("more than {n}"),
            "less_than_equal": _("at most {n}"),
            "less_than": _("less than {n}"),
        }[kind].format(n=ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt")))))
        return _("{key} must be {bound}, not {value}").format(
            key=key, bound=bound, value=_show_value(value)
        ), None
    if kind == "too_short":
        return _("{key} needs at least {n} item(s)").format(
            key=key, n=ctx.get("min_length", 1)
        ), None
    if kind == "too_long":
        return _("{key} has too many items (at most {n})").format(
            key=key, n=ctx.get("max_length")
        ), None
    if kind == "string_too_short":
        return _("{key} must not be empty").format(key=key), None
    if kind == "string_too_long":
        return _("{key} is too long (at most {n} characters)").format(
            key=key, n=ctx.get("max_length")
        ), None
    if kind == "string_pattern_mismatch":
        return (
            _("{key}: {value!r} is not a valid name").format(key=key, value=value),
            _("use lowercase letters, digits, - _ . (starting with a letter or digit)"),
        )
    if kind == "value_error":
        reason = str(ctx.get("error", err["msg"]))
        return (_("{key}: {reason}").format(key=key, reason=reason) if path else reason), None
    return _("{key}: {reason}").format(key=key, reason=err["msg"]), None


def _expected(err: ErrorDetails) -> str:
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if kind in ("literal_error", "enum"):
        return str(ctx.get("expected", ""))
    return {
        "list_type": _("a list"),
        "string_type": _("text"),
        "int_type": _("a whole number"),
        "int_parsing": _("a whole number"),
        "bool_type": _("true or false"),
        "bool_parsing": _("true or false"),
        "dict_type": _("a mapping"),
        "model_type": _("a mapping"),
    }.get(kind, err["msg"])


def _allowed(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" as "a, b, c"."""
    names = re.findall(r"'([^']*)'", expected)
    return ", ".join(names) if names else expected


def _close_hint(value: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return _("did you mean {close}?").format(close=close[0]) if close else None


def _show_loc(path: Sequence[PathElem]) -> str:
    """('applications', 0, 'sources', 1, 'port') as applications[0].sources[1].port."""
    out = ""
    for elem in path:
        if isinstance(elem, int):
            out += f"[{elem}]"
        else:
            out += ("." if out else "") + str(elem)
    return out or _("the plan")


def _last_key(path: Sequence[PathElem]) -> str:
    for elem in reversed(path):
        if isinstance(elem, str):
            return elem
    return ""


def _show_value(value: Any) -> str:
    if isinstance(value, dict):
        return _("a mapping")
    if isinstance(value, list):
        return _("a list")
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: Sequence[PathElem]) -> list[str]:
    """The field names of the model at pydantic ``loc`` (tags included), for hints."""
    model = _model_at(loc)
    return list(model.model_fields) if model is not None else []


def _model_at(loc: Sequence[PathElem]) -> type[BaseModel] | None:
    tp: Any = Plan
    for elem in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(elem))
            if field is None:
                return None
            tp = field.annotation
            continue
        origin = get_origin(tp)
        if origin is list:
            tp = get_args(tp)[0]
        elif origin is dict:
            tp = get_args(tp)[1]
        elif _is_union(tp):
            tp = _union_member(tp, elem)
            if tp is None:
                return None
        else:
            return None
    tp = _unwrap(tp)
    if _is_union(tp):
        return None
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """Annotated[X, ...] -> X; X | None -> X."""
    while True:
        if hasattr(tp, "__metadata__"):
            tp = get_args(tp)[0]
            continue
        if _is_union(tp):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _is_union(tp: Any) -> bool:
    import types

    return get_origin(tp) in (Union, types.UnionType)


def _union_member(tp: Any, tag: PathElem) -> Any:
    for member in get_args(tp):
        member = _unwrap(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get("type")
            if field is not None and tag in get_args(field.annotation):
                return member
    return None
