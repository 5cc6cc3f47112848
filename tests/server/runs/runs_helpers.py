"""Helpers of the runs app's tests (a module of its own: every test folder has a conftest)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from cadang.plan.loader import load_plan
from cadang.server.inventory.catalog import store_plan
from cadang.server.inventory.models import Application

WIB = ZoneInfo("Asia/Jakarta")


class Clock:
    """A clock a test advances: ``clock()`` is now, ``clock.advance(hours=1)`` moves it."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now

    def set(self, when: dt.datetime) -> dt.datetime:
        self.now = when
        return self.now


@dataclass
class Catalog:
    root: Path
    plan_file: Path

    def app(self, name: str) -> Application:
        return Application.objects.get(name=name)

    def add_source(self, app: str, name: str, path: Path) -> None:
        """Give ``app`` another files source (one that may not exist) and store the plan."""
        text = self.plan_file.read_text()
        marker = f"  - name: {app}\n"
        head, tail = text.split(marker, 1)
        sources_at = tail.index("    sources:\n") + len("    sources:\n")
        extra = f"      - name: {name}\n        type: files\n        paths: [{path}]\n"
        tail = tail[:sources_at] + extra + tail[sources_at:]
        self.plan_file.write_text(head + marker + tail)
        store_plan(load_plan(self.plan_file))
