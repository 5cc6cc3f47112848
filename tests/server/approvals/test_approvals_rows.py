"""Durations as the pages show them."""

from __future__ import annotations

import pytest

from cadang.server.approvals.rows import minutes_text


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (None, "\u2013"),
        (0, "0 min"),
        (19.6, "20 min"),
        (60, "1 h"),
        (90, "1 h 30 min"),
        (24 * 60, "1 d"),
        (3394, "2 d 8 h"),
    ],
)
def test_minutes_read_as_people_say_them(minutes: float | None, text: str) -> None:
    assert minutes_text(minutes) == text
