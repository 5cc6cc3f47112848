"""cadang verify: read the plan's latest backups back and restore them in a test."""

from __future__ import annotations

import click

from cadang.checks.verify import SnapshotVerification, describe, kind_word
from cadang.cli.common import apps_option, json_option, print_json, require_plan
from cadang.i18n import _
from cadang.plan.verify import VerifyReport, verify_plan
from cadang.repo.verification import Kind


def print_result(v: SnapshotVerification) -> None:
    snap = v.snapshot
    click.echo(
        _("{app}/{source}: snapshot {id} ({label}, {time})").format(
            app=v.app,
            source=v.source,
            id=snap.short_id,
            label=snap.label or "-",
            time=snap.time.strftime("%Y-%m-%d %H:%M"),
        )
    )
    for r in v.records:
        if r.passed:
            click.echo(
                "  "
                + _("{kind} passed: {what} ({seconds:.1f}s)").format(
                    kind=kind_word(r.kind), what=describe(r), seconds=r.duration
                )
            )
        else:
            click.echo(
                "  "
                + _("{kind} FAILED ({seconds:.1f}s):").format(
                    kind=kind_word(r.kind), seconds=r.duration
                )
            )
            for e in r.errors:
                click.echo(f"    {e}")
        for d in r.details:
            click.echo(f"    {d}")
    for reason in v.skipped:
        click.echo("  " + _("restore test skipped: {reason}").format(reason=reason))
    if v.not_stored:
        click.echo(
            "  " + _("the result was not stored: {reason}").format(reason=v.not_stored),
            err=True,
        )
    test = v.record(Kind.RESTORE_TEST)
    if not v.failed and test is not None:
        click.echo(
            "  "
            + _("verified restorable on {date}").format(date=test.time.strftime("%Y-%m-%d %H:%M"))
        )


def print_report(report: VerifyReport) -> None:
    for v in report.results:
        print_result(v)
    for app, source, reason in report.not_verified:
        click.echo(
            _("{app}/{source}: not verified: {reason}").format(
                app=app, source=source, reason=reason
            )
        )
    click.echo()
    failed = report.failed
    click.echo(
        _(
            "{n} snapshot(s) verified, {failed} failed, {missing} source(s) not verified; "
            "the results are stored in the repository beside each snapshot"
        ).format(n=len(report.results), failed=len(failed), missing=len(report.not_verified))
    )
    for v in failed:
        click.echo(
            _("FAILED: snapshot {id} ({label}) of {app}/{source}").format(
                id=v.snapshot.short_id, label=v.snapshot.label or "-", app=v.app, source=v.source
            )
        )


@click.command(
    "verify",
    help=_(
        "Prove backups restorable: read the latest snapshot of each source back completely "
        "(every blob decrypted and its id checked), then restore it in a test (databases "
        "into a throw-away database that is dropped again, a sample of files into a "
        "temporary folder) and compare with what was recorded at backup. The results are "
        "stored beside the snapshot ('cadang status' shows them).\n\n"
        "Exit code 0: all verified; 1: a verification failed or a source has no snapshot."
    ),
)
@apps_option
@click.option(
    "--snapshot",
    default="latest",
    show_default=True,
    metavar="ID|LABEL",
    help=_("Verify this snapshot (id prefix or label) instead of the latest of each source."),
)
@click.option(
    "--no-restore-test",
    is_flag=True,
    help=_("Only read the snapshots back; restore nothing."),
)
@click.option(
    "--retry-lock",
    type=float,
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help=_("Wait up to this long for another operation's lock to go."),
)
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    apps: tuple[str, ...],
    snapshot: str,
    no_restore_test: bool,
    retry_lock: float,
    as_json: bool,
) -> None:
    plan = require_plan(ctx)
    report = verify_plan(
        plan,
        apps=list(apps),
        snapshot=snapshot,
        restore_test=not no_restore_test,
        lock_wait=retry_lock,
    )
    if as_json:
        print_json(report.to_json())
    else:
        print_report(report)
    if report.exit_code:
        ctx.exit(report.exit_code)
