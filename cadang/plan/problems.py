"""pydantic's validation errors turned into PlanProblems: translated, placed, with hints.

Each error of :mod:`cadang.plan.model`'s validation becomes a
:class:`~cadang.errors.PlanProblem` at the line and column it is about, with a message in
the user's language, naming the key as the plan writes it (``applications[0].sources[1].port
must be a whole number, not 'x'``), and where one helps a hint such as the key that was
probably meant. Errors inside a union are merged into one "must be A or B" problem.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from cadang.errors import PlanProblem
from cadang.i18n import _
from cadang.plan.file_checks import is_secret_key
from cadang.plan.model import Plan
from cadang.plan.positions import Loc, Located, PathElem, Positions, show_loc

SOURCE_TYPES = ("files", "postgres", "mariadb", "mysql", "sqlite", "oracle", "command")


def translate(
    errors: list[ErrorDetails], positions: Positions, suppressed: set[Loc]
) -> list[PlanProblem]:
    """The problems of these errors; those at a ``suppressed`` loc were reported already."""
    problems: list[PlanProblem] = []
    unions: dict[Loc, list[tuple[ErrorDetails, Located]]] = {}
    for err in errors:
        kind = err["type"]
        where = positions.locate(err["loc"], key=kind == "extra_forbidden")
        if kind == "extra_forbidden" and where.path and is_secret_key(where.path[-1]):
            continue  # reported by file_checks.secret_problems
        if kind == "value_error" and where.path in suppressed:
            continue  # reported with a precise position by file_checks.reference_problems
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
                    key=show_loc(path), expected=expected, value=_show_value(err["input"])
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
    key = show_loc(path)
    name = _last_key(path)
    if where.is_key:
        key = show_loc(path)
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
        return _("{where}: unknown key {key!r}").format(where=show_loc(path[:-1]), key=name), hint
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
    return get_origin(tp) in (Union, types.UnionType)


def _union_member(tp: Any, tag: PathElem) -> Any:
    for member in get_args(tp):
        member = _unwrap(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get("type")
            if field is not None and tag in get_args(field.annotation):
                return member
    return None
