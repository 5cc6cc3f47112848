"""Exclude patterns (``--exclude GLOB``).

A pattern without a slash matches any file or directory of that name (``*.tmp``,
``node_modules``); a pattern with a slash matches the absolute path (``/home/*/cache``),
and ``**`` crosses directory boundaries. An excluded directory is not entered.
"""

from __future__ import annotations

import os
import re
from fnmatch import translate


def _compile(pattern: str) -> re.Pattern[bytes]:
    if "**" in pattern:
        parts = [translate(p)[4:-3] for p in pattern.split("**")]  # strip (?s:...)\Z
        rx = ".*".join(p.replace(".*", "[^/]*") for p in parts)
    else:
        rx = translate(pattern)[4:-3].replace(".*", "[^/]*")
    return re.compile(os.fsencode(f"(?s:{rx})\\Z"))


class ExcludeFilter:
    def __init__(self, patterns: list[str]) -> None:
        self._names = [_compile(p) for p in patterns if "/" not in p]
        self._paths = [_compile(p.rstrip("/")) for p in patterns if "/" in p]

    def excluded(self, path: str | bytes) -> bool:
        raw = os.fsencode(path)
        if self._names:
            base = raw.rsplit(b"/", 1)[-1]
            if any(rx.match(base) for rx in self._names):
                return True
        return any(rx.match(raw) for rx in self._paths)
