"""The audit tests' own state folder, so the anchor file of one test never meets another's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

from cadang.server.audit.log import record
from cadang.server.audit.models import AuditEntry


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "state"
    monkeypatch.setenv("CADANG_STATE_DIR", str(folder))
    yield folder


@pytest.fixture
def entries(
    db: None, django_capture_on_commit_callbacks: Callable[..., object]
) -> Callable[[int], list[AuditEntry]]:
    """entries(5) -> five recorded entries, committed so the anchor follows them."""

    def make(n: int) -> list[AuditEntry]:
        made = []
        for i in range(n):
            with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
                made.append(
                    record(
                        f"action_{i % 3}", actor=f"user{i % 2}", target=f"t{i}", details={"i": i}
                    )
                )
        return made

    return make


@pytest.fixture
def raw_sql(db: None) -> Callable[..., None]:
    """raw_sql("UPDATE {table} SET ... WHERE seq = %s", 3): tamper as someone with database
    access would, in plain SQL, past the model's save guard."""

    def run(sql: str, *params: object) -> None:
        with connection.cursor() as cur:
            cur.execute(sql.replace("{table}", AuditEntry._meta.db_table), params)

    return run
