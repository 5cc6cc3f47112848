"""The demo's helpers (cadang.server.demo): last month's date, a free port, waiting."""

from __future__ import annotations

import datetime as dt
import socket
from zoneinfo import ZoneInfo

import pytest

from cadang.server.demo import free_port, last_month, wait_until_up

JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (dt.datetime(2026, 11, 21, 10, 0, tzinfo=JAKARTA), dt.date(2026, 10, 15)),
        (dt.datetime(2026, 1, 1, 0, 30, tzinfo=JAKARTA), dt.date(2025, 12, 15)),
        (dt.datetime(2026, 3, 31, 23, 59, tzinfo=JAKARTA), dt.date(2026, 2, 15)),
        # 30 November 20:00 UTC is already 1 December in Jakarta: last month is November.
        (dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC), dt.date(2026, 11, 15)),
    ],
)
def test_last_month_is_the_15th_of_the_month_before(
    now: dt.datetime, expected: dt.date, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CADANG_TIME_ZONE", raising=False)
    when = last_month(now)
    assert when.date() == expected
    assert when.utcoffset() == dt.timedelta(hours=7)


def test_free_port_keeps_a_free_preferred_port_and_avoids_a_taken_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        port = free_port(busy)
        assert port != busy
    assert free_port(port) == port


def test_wait_until_up_gives_up_on_a_closed_port_and_refuses_other_schemes() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert wait_until_up(f"http://127.0.0.1:{closed}/", timeout=0.5) is False
    with pytest.raises(ValueError, match="not a web address"):
        wait_until_up("file:///etc/passwd")
