"""The chain check's findings in words (Django's catalog): for the pages, and for
``cadang audit verify``, which asks for them in the command line's language."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cadang.server.audit.chain import Kind, Problem


def describe(problem: Problem) -> str:
    v = problem.values()
    if problem.kind is Kind.CHANGED:
        text = _("entry {seq} was changed: its hash does not match its contents")
    elif problem.kind is Kind.MISSING:
        text = _("entries {first} to {last} are missing: they were deleted")
    elif problem.kind is Kind.UNLINKED:
        text = _(
            "entry {seq} is not linked to entry {prev}: an entry was inserted, moved or "
            "rewritten with a new hash"
        )
    elif problem.kind is Kind.BAD_START:
        text = _("entry {seq} does not start the chain: the start of the log was rewritten")
    elif problem.kind is Kind.TRUNCATED:
        text = _(
            "the anchor names entry {seq} but the log ends at entry {last}: entries were "
            "removed from the end"
        )
    elif problem.kind is Kind.ANCHOR_MISMATCH:
        text = _("entry {seq} differs from the anchor: the log was rewritten from there on")
    elif problem.kind is Kind.ANCHOR_UNREADABLE:
        text = _("the anchor file cannot be read: {reason}")
    elif problem.kind is Kind.NO_ANCHOR:
        text = _("there is no anchor file yet: the end of the log cannot be checked")
    else:
        text = _("{count} entries were written after the anchor (entry {seq})")
    return text.format(**v)
