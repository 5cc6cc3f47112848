"""Translations of what users read: Bahasa Indonesia by default, English on request.

Strings are marked with ``_()`` and kept in the gettext catalog
``cadang/locale/<lang>/LC_MESSAGES/cadang.po`` (compiled to ``.mo``; see docs/TRANSLATING.md).
The source strings are English; the language is chosen by ``CADANG_LANG`` (``id`` or
``en``), falling back to Indonesian, the language of the offices Cadang serves.
Format placeholders by name (``_("{path} is missing").format(path=p)``) so translators can
reorder them.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "cadang"
DEFAULT_LANGUAGE = "id"

_translation: gettext.NullTranslations | None = None


def language() -> str:
    lang = os.environ.get("CADANG_LANG", "").strip().lower()
    return lang.split("_")[0] if lang else DEFAULT_LANGUAGE


def activate(lang: str | None = None) -> None:
    global _translation
    lang = lang or language()
    _translation = gettext.translation(
        DOMAIN, localedir=LOCALE_DIR, languages=[lang], fallback=True
    )


def _(message: str) -> str:
    if _translation is None:
        activate()
    assert _translation is not None
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    if _translation is None:
        activate()
    assert _translation is not None
    return _translation.ngettext(singular, plural, n)
