"""Keep the message catalogs in step with the code.

    python scripts/i18n.py update    # extract strings, merge into every .po (both catalogs)
    python scripts/i18n.py merge     # also fill translations from cadang/server/locale/fragments/*.json
    python scripts/i18n.py compile   # .po -> .mo (the .mo files are committed)
    python scripts/i18n.py check     # exit 1 if a string lacks a translation or a .mo is stale

Two catalogs: ``cadang`` (cadang/locale) for the command line and the layers below, through
:mod:`cadang.i18n`; ``django`` (cadang/server/locale) for the server's pages, e-mails and
models. A server module that prints through the command line imports ``cadang.i18n._`` and
belongs to the first. Templates are read with Django's own ``templatize``, so
``{% translate %}`` and ``{% blocktranslate %}`` give the msgids Django looks up.

Uses Babel's extractor and catalog code rather than hand-written parsing.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract as babel_extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cadang"
SERVER = PACKAGE / "server"
FRAGMENTS = SERVER / "locale" / "fragments"
LANGUAGES = ["id"]
CLI_IMPORT = "from cadang.i18n import _"
CLI_KEYWORDS: dict[str, object] = {"_": None, "ngettext": (1, 2)}
DJANGO_KEYWORDS: dict[str, object] = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
DOMAINS = {"cadang": PACKAGE / "locale", "django": SERVER / "locale"}


def _python_files() -> Iterator[tuple[Path, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path, path.read_text(encoding="utf-8")


def _sources(domain: str) -> Iterator[tuple[Path, str, dict[str, object]]]:
    """(file, code, keywords) of every file whose strings belong to ``domain``."""
    for path, text in _python_files():
        in_server = SERVER in path.parents
        cli = not in_server or CLI_IMPORT in text
        if domain == "cadang" and cli:
            yield path, text, CLI_KEYWORDS
        elif domain == "django" and not cli:
            yield path, text, DJANGO_KEYWORDS
    if domain == "django":
        from django.utils.translation.template import templatize

        for path in sorted(SERVER.rglob("*.html")):
            code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
            # templatize keeps the template's indentation, which Python's tokenizer rejects
            # when uneven; stripping it keeps the line numbers.
            code = "\n".join(line.lstrip() for line in code.splitlines())
            yield (
                path,
                code,
                {
                    "gettext": None,
                    "ngettext": (1, 2),
                    "pgettext": ((1, "c"), 2),
                    "npgettext": ((1, "c"), 2, 3),
                },
            )


def extract(domain: str = "cadang") -> Catalog:
    template = Catalog(project="cadang", charset="utf-8")
    for path, code, keywords in _sources(domain):
        rel = str(path.relative_to(ROOT))
        for lineno, message, comments, context in babel_extract(
            "python",
            io.BytesIO(code.encode("utf-8")),
            keywords=keywords,  # type: ignore[arg-type]
        ):
            template.add(message, None, [(rel, lineno)], auto_comments=comments, context=context)
    return template


def po_path(lang: str, domain: str = "cadang") -> Path:
    return DOMAINS[domain] / lang / "LC_MESSAGES" / f"{domain}.po"


def load(lang: str, domain: str = "cadang") -> Catalog:
    path = po_path(lang, domain)
    if not path.exists():
        return Catalog(locale=lang, project="cadang", charset="utf-8")
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def save(catalog: Catalog, lang: str, domain: str) -> None:
    path = po_path(lang, domain)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, omit_header=False, ignore_obsolete=True, sort_output=True)
    print(f"{path.relative_to(ROOT)}: {len(catalog)} messages")


def fragments() -> dict[str, str]:
    """English -> Indonesian pairs written beside the code (one JSON file per server app)."""
    pairs: dict[str, str] = {}
    for path in sorted(FRAGMENTS.glob("*.json")):
        pairs.update(json.loads(path.read_text(encoding="utf-8")))
    return pairs


def mo_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def update(fill: bool = False) -> None:
    pairs = fragments() if fill else {}
    for domain in DOMAINS:
        template = extract(domain)
        for lang in LANGUAGES:
            catalog = load(lang, domain)
            catalog.update(template, no_fuzzy_matching=True)
            for msg in catalog:
                key = msg.id if isinstance(msg.id, str) else msg.id[0]
                if msg.id and not (msg.string and all(msg.string)) and key in pairs:
                    # Indonesian has one plural form; a plural msgid takes the same text.
                    plural = isinstance(msg.id, tuple)
                    msg.string = (pairs[key],) * catalog.num_plurals if plural else pairs[key]
            save(catalog, lang, domain)


def compile_all() -> None:
    for domain in DOMAINS:
        for lang in LANGUAGES:
            po_path(lang, domain).with_suffix(".mo").write_bytes(mo_bytes(load(lang, domain)))


def problems() -> list[str]:
    out: list[str] = []
    for domain in DOMAINS:
        template = extract(domain)
        for lang in LANGUAGES:
            catalog = load(lang, domain)
            for msg in template:
                if not msg.id:
                    continue
                have = catalog.get(msg.id, context=msg.context)
                if (
                    have is None
                    or not have.string
                    or have.fuzzy
                    or (isinstance(have.string, tuple) and not all(have.string))
                ):
                    first = msg.id if isinstance(msg.id, str) else msg.id[0]
                    out.append(
                        f"{domain}/{lang}: no translation for {first!r} ({msg.locations[0][0]})"
                    )
            mo = po_path(lang, domain).with_suffix(".mo")
            if not mo.exists() or mo.read_bytes() != mo_bytes(catalog):
                out.append(
                    f"{domain}/{lang}: {mo.relative_to(ROOT)} is stale: "
                    "run 'python scripts/i18n.py compile'"
                )
    return out


def main() -> int:
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "update":
        update()
    elif cmd == "merge":
        update(fill=True)
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
