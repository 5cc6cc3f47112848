"""What the browser tests and their fixtures share (tests import it; they never import
conftest)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PASSWORD = "browser-test-password-7"


@dataclass
class Server:
    url: str
    root: Path
    env: dict[str, str]
    log: Path
    last_month: dt.date  # when the imported run of last month was made
    # What one test leaves for the next (the run and form of the operator's flow).
    shared: dict[str, Any] = field(default_factory=dict)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""
