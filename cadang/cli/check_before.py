"""cadang check-before: the pre-backup checklist of SOP 000 (database, antivirus, network,
storage), recorded in the state directory."""

from __future__ import annotations

import click

from cadang.checks.base import Checklist, CheckRecord, Result
from cadang.cli.common import apps_option, json_option, print_json, require_plan
from cadang.errors import CadangError
from cadang.i18n import _
from cadang.plan.model import Priority

_SHOWN_FILES = 20  # infected / unscanned files listed under a record


def result_word(result: Result) -> str:
    return {
        Result.PASSED: _("passed"),
        Result.WARNING: _("warning"),
        Result.FAILED: _("FAILED"),
        Result.SKIPPED: _("skipped"),
    }[result]


def kind_word(kind: str) -> str:
    return {
        "database": _("database"),
        "antivirus": _("antivirus"),
        "network": _("network"),
        "storage": _("storage"),
    }.get(kind, kind)


def _contact(c: dict[str, str]) -> str:
    extra = [c[k] for k in ("role", "email", "phone") if c.get(k)]
    return f"{c.get('name', '')} ({', '.join(extra)})" if extra else c.get("name", "")


def _record_details(r: CheckRecord) -> None:
    click.echo(
        _("{kind} {subject} ({result}):").format(
            kind=kind_word(r.kind), subject=r.subject, result=result_word(r.result)
        )
    )
    if r.hint:
        click.echo(_("  hint: {hint}").format(hint=r.hint))
    infected = r.details.get("infected") or []
    for i in infected[:_SHOWN_FILES]:
        click.echo(
            _("  infected: {path} ({signature})").format(path=i["path"], signature=i["signature"])
        )
    if len(infected) > _SHOWN_FILES:
        click.echo(_("  … and {n} more").format(n=len(infected) - _SHOWN_FILES))
    for n in (r.details.get("not_scanned") or [])[:_SHOWN_FILES]:
        click.echo(_("  not scanned: {path}: {reason}").format(path=n["path"], reason=n["reason"]))


def print_checklist(checklist: Checklist) -> None:
    """The pre-backup checklist: one line per check, then details of what did not pass."""
    click.echo(
        _("Pre-backup checklist — {org}, {host}, {started}").format(
            org=checklist.organization, host=checklist.hostname, started=checklist.started
        )
    )
    click.echo()
    if checklist.skipped and not checklist.records:
        click.echo(_("checks were not made: {reason}").format(reason=checklist.skipped))
    else:
        titles = (_("Check"), _("Subject"), _("Result"), _("Summary"))
        rows = [
            (kind_word(r.kind), r.subject, result_word(r.result), r.summary)
            for r in checklist.records
        ]
        widths = [max(len(t), *(len(row[i]) for row in rows)) for i, t in enumerate(titles[:3])]

        def line(cells: tuple[str, ...]) -> str:
            head = "  ".join(c.ljust(widths[i]) for i, c in enumerate(cells[:3]))
            return f"{head}  {cells[3]}".rstrip()

        header = line(titles)
        click.echo(header)
        click.echo("-" * len(header))
        for row in rows:
            click.echo(line(row))
        noted = [
            r
            for r in checklist.records
            if r.result in (Result.FAILED, Result.WARNING)
            and (r.hint or r.details.get("infected") or r.details.get("not_scanned"))
        ]
        if noted:
            click.echo()
            for r in noted:
                _record_details(r)
    click.echo()
    click.echo(
        _("{passed} passed, {warning} warning(s), {failed} failed, {skipped} skipped").format(
            passed=checklist.count(Result.PASSED),
            warning=checklist.count(Result.WARNING),
            failed=checklist.count(Result.FAILED),
            skipped=checklist.count(Result.SKIPPED),
        )
    )
    if checklist.needs_attention:
        click.echo(attention_line(checklist.escalation))


def attention_line(contacts: list[dict[str, str]]) -> str:
    """The line that names whom a problem goes to (SOP 000: the Kasi and the Kabid)."""
    if contacts:
        return _("NEEDS ATTENTION: escalate to {contacts}").format(
            contacts="; ".join(_contact(c) for c in contacts)
        )
    return _(
        "NEEDS ATTENTION: escalate to the Kasi and the Kabid (add them under escalation: in "
        "the plan)"
    )


@click.command(
    "check-before",
    help=_(
        "Check before a backup (SOP 000): databases answer, the files are free of viruses "
        "(ClamAV), the repositories are reachable and have room. Prints the pre-backup "
        "checklist and records it in the state directory. 'run' makes the same checks first.\n\n"
        "Exit code 0: all passed (or warnings); 1: a check failed."
    ),
)
@apps_option
@click.option(
    "--priority",
    type=click.Choice([p.value for p in Priority]),
    default=None,
    help=_("Only the applications of this priority."),
)
@json_option
@click.pass_context
def command(ctx: click.Context, apps: tuple[str, ...], priority: str | None, as_json: bool) -> None:
    from cadang.plan.prechecks import run_prechecks
    from cadang.plan.run import select_applications
    from cadang.plan.state import open_state

    plan = require_plan(ctx)
    chosen = select_applications(plan, priority, list(apps))
    state = open_state(plan)
    checklist = run_prechecks(plan, chosen, state=state).checklist
    saved = ""
    try:
        saved = str(state.save_checklist(checklist))
    except CadangError as exc:
        click.echo(_("cadang: {message}").format(message=exc.message), err=True)
    if as_json:
        print_json(checklist.to_json() | {"record": saved})
    else:
        print_checklist(checklist)
        if saved:
            click.echo(_("recorded in {path}").format(path=saved))
    if checklist.exit_code:
        ctx.exit(checklist.exit_code)
