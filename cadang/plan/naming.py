"""The naming rule: how each backup (snapshot) of the plan is labelled.

SOP 001 names the Oracle ``.dmp`` file by a rule and SOP 002 names each backup by one; in
Cadang the rule is a template in the plan (``naming.template``) with the fields ``org``,
``app``, ``source``, ``owner``, ``priority`` and ``time`` (a date and time, formatted with
``strftime`` codes: ``{time:%Y%m%d-%H%M}``). A label is safe to use as a snapshot label and
as a file name: characters that are not (``/``, spaces, newlines, ...) become ``-``.
"""

from __future__ import annotations

import re
import string
from datetime import datetime

from cadang.errors import UsageError
from cadang.i18n import _

DEFAULT_TEMPLATE = "{org}-{app}-{source}-{time:%Y%m%d-%H%M}"
FIELDS = ("org", "app", "source", "owner", "priority", "time")

# Kept as is: letters and digits of any script, and these separators.
_UNSAFE = re.compile(r"[^\w.+-]+")
_DASHES = re.compile(r"-{2,}")

_SAMPLE = {
    "org": "disdukcapil",
    "app": "siak",
    "source": "database",
    "owner": "Bidang PIAK",
    "priority": "daily",
    "time": datetime(2024, 1, 31, 23, 59, 58),
}


def safe_label(text: str) -> str:
    """``text`` with every unsafe character run replaced by one ``-`` (no ``/``, no newline)."""
    out = _DASHES.sub("-", _UNSAFE.sub("-", text))
    return out.strip("-.")


def render_label(
    template: str,
    *,
    org: str,
    app: str,
    source: str,
    owner: str,
    priority: str,
    time: datetime,
) -> str:
    """The label of one backup by the naming rule, safe as a snapshot label."""
    try:
        raw = _render(
            template,
            {
                "org": org,
                "app": app,
                "source": source,
                "owner": owner,
                "priority": str(priority),
                "time": time,
            },
        )
    except _TemplateError as exc:
        raise UsageError(
            _("the naming template {template!r} is not valid: {reason}").format(
                template=template, reason=exc.reason
            ),
            hint=_("fields: {fields}; e.g. {example}").format(
                fields=", ".join(FIELDS), example=DEFAULT_TEMPLATE
            ),
        ) from None
    label = safe_label(raw)
    if not label:
        raise UsageError(
            _("the naming template {template!r} gives an empty label").format(template=template),
            hint=_("use fields such as {example}").format(example=DEFAULT_TEMPLATE),
        )
    return label


def check_template(template: str) -> list[str]:
    """What is wrong with a naming template (unknown fields, bad format specs); [] if fine."""
    problems: list[str] = []
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [_("the template cannot be read: {reason}").format(reason=_braces(str(exc)))]
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in FIELDS:
            problems.append(
                _("unknown field {{{field}}} (fields: {fields})").format(
                    field=field, fields=", ".join(FIELDS)
                )
            )
        if conversion is not None:
            problems.append(
                _("field {{{field}}}: conversions like !{conversion} are not allowed").format(
                    field=field, conversion=conversion
                )
            )
        if spec and "{" in spec:
            problems.append(
                _("field {{{field}}}: nested fields in a format are not allowed").format(
                    field=field
                )
            )
    if problems:
        return problems
    try:
        raw = _render(template, dict(_SAMPLE))
    except _TemplateError as exc:
        return [exc.reason]
    if not safe_label(raw):
        return [_("the template gives an empty label")]
    return []


class _TemplateError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _render(template: str, values: dict[str, object]) -> str:
    """Format with named fields only: no attribute or index access, no positional fields."""
    formatter = string.Formatter()
    out: list[str] = []
    try:
        for literal, field, spec, conversion in formatter.parse(template):
            out.append(literal)
            if field is None:
                continue
            if field not in values:
                raise _TemplateError(
                    _("unknown field {{{field}}} (fields: {fields})").format(
                        field=field, fields=", ".join(FIELDS)
                    )
                )
            if conversion is not None or (spec and "{" in spec):
                raise _TemplateError(
                    _("field {{{field}}}: only a plain format is allowed").format(field=field)
                )
            value = values[field]
            try:
                out.append(format(value, spec or ""))
            except (ValueError, TypeError) as exc:
                raise _TemplateError(
                    _("field {{{field}}}: bad format {spec!r}: {reason}").format(
                        field=field, spec=spec, reason=exc
                    )
                ) from None
    except ValueError as exc:
        raise _TemplateError(
            _("the template cannot be read: {reason}").format(reason=_braces(str(exc)))
        ) from None
    return "".join(out)


def _braces(reason: str) -> str:
    if "'}'" in reason or "'{'" in reason or "brace" in reason:
        return _("unmatched '{' or '}' (write '{{' or '}}' for a literal brace)")
    return reason
