"""A plan file uploaded on the Import page: kept in the state directory, then imported.

An imported upload stays (``<state>/server/uploads/plan-<time>-<random>.yaml``) as the
record of what the catalog was set from; a refused one is deleted. Relative paths in it are
taken relative to that folder, as the loader does for any plan file.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cadang.errors import PlanError
from cadang.server.inventory.importer import ImportResult, import_plan_file
from cadang.server.lib.config import server_dir


@dataclass(frozen=True)
class ShownProblem:
    """A problem of the uploaded file, located in the file as the person named it."""

    location: str  # name:line:column
    message: str
    hint: str


def uploads_dir() -> Path:
    path = server_dir() / "uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def save_upload(chunks: Iterable[bytes], now: dt.datetime) -> Path:
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = uploads_dir() / f"plan-{stamp}-{secrets.token_hex(4)}.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    return path


def shown_problems(exc: PlanError, name: str) -> list[ShownProblem]:
    out = []
    for p in exc.problems:
        location = f"{name}:{p.line}:{p.column}" if p.line > 0 else name
        out.append(ShownProblem(location, p.message, p.hint or ""))
    return out


def import_upload(
    chunks: Iterable[bytes], name: str, user: Any, now: dt.datetime
) -> ImportResult | list[ShownProblem]:
    """The import's result, or the problems that refused the file (nothing was changed)."""
    path = save_upload(chunks, now)
    try:
        return import_plan_file(str(path), user=user)
    except PlanError as exc:
        path.unlink(missing_ok=True)
        return shown_problems(exc, name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
