"""Keep the message catalogs in step with the code.

    python scripts/i18n.py update    # extract _() strings, merge into every .po
    python scripts/i18n.py compile   # .po -> .mo (the .mo files are committed)
    python scripts/i18n.py check     # exit 1 if a string lacks a translation or a .mo is stale

Uses Babel's extractor and catalog code rather than hand-written parsing.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cadang"
LOCALE = PACKAGE / "locale"
LANGUAGES = ["id"]
KEYWORDS = {"_": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    template = Catalog(project="cadang", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        template.add(
            message, None, [(f"cadang/{filename}", lineno)], auto_comments=comments, context=context
        )
    return template


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "cadang.po"


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, project="cadang", charset="utf-8")
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def mo_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def update() -> None:
    template = extract()
    for lang in LANGUAGES:
        catalog = load(lang)
        catalog.update(template, no_fuzzy_matching=True)
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(
                f, catalog, width=100, omit_header=False, ignore_obsolete=True, sort_output=True
            )
        print(f"{path.relative_to(ROOT)}: {len(catalog)} messages")


def compile_all() -> None:
    for lang in LANGUAGES:
        po_path(lang).with_suffix(".mo").write_bytes(mo_bytes(load(lang)))


def problems() -> list[str]:
    out: list[str] = []
    template = extract()
    for lang in LANGUAGES:
        catalog = load(lang)
        for msg in template:
            if not msg.id:
                continue
            have = catalog.get(msg.id)
            if (
                have is None
                or not have.string
                or have.fuzzy
                or (isinstance(have.string, tuple) and not all(have.string))
            ):
                first = msg.id if isinstance(msg.id, str) else msg.id[0]
                out.append(f"{lang}: no translation for {first!r} ({msg.locations[0][0]})")
        mo = po_path(lang).with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != mo_bytes(catalog):
            out.append(
                f"{lang}: {mo.relative_to(ROOT)} is stale: run 'python scripts/i18n.py compile'"
            )
    return out


def main() -> int:
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "update":
        update()
    elif cmd == "compile":
        compile_all()
    elif cmd == "check":
        found = problems()
        for p in found:
            print(p)
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
