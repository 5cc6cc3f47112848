"""Exclude patterns (``--exclude GLOB``).

A pattern without a slash matches any file or directory of that name (``*.tmp``,
``node_modules``); a pattern starting with a slash matches the absolute path
(``/home/*/cache``); any other pattern with a slash matches the end of a path at any depth
(``logs/*.log`` is ``/**/logs/*.log``). ``*`` and ``?`` stay within one directory, ``**``
crosses directory boundaries. An excluded directory is not entered.
"""

from __future__ import annotations

import os
import re


def _translate(pattern: str) -> str:
    """A glob as a regular expression: ``*`` and ``?`` stay within one path component,
    ``**`` crosses components, and ``/**/`` also matches a single ``/``."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("/**/", i):
            out.append("/(?:.*/)?")
            i += 4
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            j = pattern.find("]", j)
            if j < 0:  # no closing bracket: a literal '['
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : j]
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            body = body.replace("\\", "\\\\").replace("^", "\\^").replace("[", "\\[")
            out.append(f"[^/{body}]" if negate else f"[{body}]")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _compile(pattern: str) -> re.Pattern[str]:
    # Matched against paths decoded with surrogateescape, so '?' is one character (not one
    # byte of it) and names that are not UTF-8 still match byte for byte.
    return re.compile(f"(?s:{_translate(pattern)})\\Z")


class ExcludeFilter:
    def __init__(self, patterns: list[str]) -> None:
        self._names = [_compile(p) for p in patterns if "/" not in p]
        self._paths = [
            _compile(p.rstrip("/") if p.startswith("/") else "/**/" + p.rstrip("/"))
            for p in patterns
            if "/" in p
        ]

    def excluded(self, path: str | bytes) -> bool:
        if not (self._names or self._paths):
            return False
        text = os.fsdecode(path)
        if self._names:
            base = text.rsplit("/", 1)[-1]
            if any(rx.match(base) for rx in self._names):
                return True
        return any(rx.match(text) for rx in self._paths)
