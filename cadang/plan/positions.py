"""Where things are in the plan file: YAML nodes mapped to lines and columns.

The plan is parsed with ruamel.yaml's round-trip loader, so every mapping and list knows
where it is. :class:`Positions` turns a path of keys and list indexes (a pydantic ``loc``,
union tags and all) into a 1-based line and column, and makes a
:class:`~cadang.errors.PlanProblem` that points there; :func:`show_loc` writes such a path
the way a user reads it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from cadang.errors import PlanProblem
from cadang.i18n import _

PathElem = str | int
Loc = tuple[PathElem, ...]


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
        line, col = node_start(node)
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


def node_start(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return (0, 0)
    return (int(lc.line), int(lc.col))


def walk(node: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Any]]:
    yield loc, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, (*loc, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, (*loc, i))


def show_loc(path: Sequence[PathElem]) -> str:
    """('applications', 0, 'sources', 1, 'port') as applications[0].sources[1].port."""
    out = ""
    for elem in path:
        if isinstance(elem, int):
            out += f"[{elem}]"
        else:
            out += ("." if out else "") + str(elem)
    return out or _("the plan")
