"""The plan layer's result words (``passed``, ``failed``, ``network``...) as people read
them, in their language; a word not listed is shown as it is."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

WORDS = {
    # results of checks, sources and verifications
    "passed": _("passed"),
    "warning": _("warning"),
    "failed": _("failed"),
    "skipped": _("skipped"),
    "succeeded": _("succeeded"),
    "partial": _("partial"),
    # kinds of pre-backup check
    "database": _("database"),
    "antivirus": _("antivirus"),
    "network": _("network"),
    "storage": _("storage"),
}


def word(value: object) -> str:
    text = str(value)
    return str(WORDS.get(text, text))
