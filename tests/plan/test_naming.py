"""The naming rule: labels from the template, safe as snapshot labels; template checks."""

from __future__ import annotations

from datetime import datetime

import pytest

from cadang.errors import UsageError
from cadang.plan.naming import DEFAULT_TEMPLATE, check_template, render_label, safe_label

WHEN = datetime(2024, 3, 5, 7, 9, 4)


def label(template: str, **over: object) -> str:
    fields: dict[str, object] = {
        "org": "disdukcapil-bll",
        "app": "siak",
        "source": "database",
        "owner": "Bidang PIAK",
        "priority": "daily",
        "time": WHEN,
    }
    fields.update(over)
    return render_label(template, **fields)  # type: ignore[arg-type]


def test_default_template() -> None:
    assert label(DEFAULT_TEMPLATE) == "disdukcapil-bll-siak-database-20240305-0709"


def test_every_field_and_format_specs() -> None:
    out = label("{priority}_{owner}_{app:>6}_{source:.2}_{time:%Y-%m-%dT%H%M%S}.dmp")
    assert out == "daily_Bidang-PIAK_-siak_da_2024-03-05T070904.dmp"


def test_unsafe_characters_are_replaced() -> None:
    out = label("{org}/{app}/{owner}", owner="Seksi Data / Statistik\nbaris dua\t")
    assert "/" not in out and "\n" not in out and "\t" not in out and " " not in out
    assert out == "disdukcapil-bll-siak-Seksi-Data-Statistik-baris-dua"
    # Letters of any script are kept.
    assert safe_label("Dinas Kesehatan Daerah — Ünit") == "Dinas-Kesehatan-Daerah-Ünit"
    assert safe_label("../../etc/passwd") == "etc-passwd"


def test_priority_enum_renders_as_its_value() -> None:
    from cadang.plan.model import Priority

    assert label("{priority}", priority=Priority.WEEKLY) == "weekly"


def test_bad_templates_raise_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        label("{org}-{nope}")
    assert "{nope}" in info.value.message
    with pytest.raises(UsageError):
        label("{org:%Y}")
    with pytest.raises(UsageError) as info:
        label(" / ")
    assert "empty label" in info.value.message


def test_check_template_accepts_good_ones() -> None:
    for template in (
        DEFAULT_TEMPLATE,
        "{app}",
        "{org}-{time:%Y%m%d}",
        "backup-{{literal}}-{app}",
        "{owner:>20}-{time:%H%M}",
    ):
        assert check_template(template) == [], template


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{org}-{apq}", "unknown field {apq}"),
        ("{}", "unknown field {}"),
        ("{0}", "unknown field {0}"),
        ("{org.upper}", "unknown field {org.upper}"),
        ("{app[0]}", "unknown field {app[0]}"),
        ("{org!r}", "conversions like !r"),
        ("{org:%Y}", "bad format '%Y'"),
        ("{time:{x}}", "nested fields"),
        ("{org", "unmatched"),
        ("org}", "unmatched"),
        ("///", "empty label"),
    ],
)
def test_check_template_reports_problems(template: str, words: str) -> None:
    problems = check_template(template)
    assert problems and any(words in p for p in problems), problems


def test_check_template_reports_every_unknown_field() -> None:
    problems = check_template("{a}-{b}-{app}")
    assert len(problems) == 2
