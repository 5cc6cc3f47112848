"""cadang admin: people on the server (create the first administrator, unlock, list)."""

from __future__ import annotations

import getpass
import os

import click

from cadang.cli.common import read_password_file
from cadang.cli.serve import database_option
from cadang.errors import UsageError
from cadang.i18n import _


def _setup(database: str | None) -> None:
    from cadang.server.service import prepare

    prepare(database)


def _ask_password() -> str:
    env = os.environ.get("CADANG_USER_PASSWORD")
    if env:
        return env
    first = getpass.getpass(_("password for the new user: "))
    second = getpass.getpass(_("the same password again: "))
    if first != second:
        raise UsageError(_("the two passwords differ"))
    return first


@click.group("admin", help=_("Manage the server's people: create users, unlock, list."))
def command() -> None:
    pass


@command.command("create-user", help=_("Create a user with a role (the first one: --role admin)."))
@click.argument("username")
@click.option(
    "--role",
    required=True,
    help=_(
        "operator, verifier (Kasi), approver (Kabid), head (Kadis), unit (OPD), crypto, "
        "auditor or admin."
    ),
)
@click.option("--name", "full_name", default="", help=_("Full name, printed on forms."))
@click.option("--email", default="", help=_("E-mail address for notifications."))
@click.option("--unit", default="", help=_("For a requesting unit: its owner name in the plan."))
@click.option(
    "--language",
    type=click.Choice(["id", "en"]),
    default="id",
    show_default=True,
    help=_("Language of the pages."),
)
@click.option(
    "--password-file",
    metavar="FILE",
    help=_("Read the password from FILE (else env CADANG_USER_PASSWORD, else asked)."),
)
@database_option
def create_user(
    username: str,
    role: str,
    full_name: str,
    email: str,
    unit: str,
    language: str,
    password_file: str | None,
    database: str | None,
) -> None:
    _setup(database)
    from cadang.server.accounts.people import NewPerson, create_person

    password = read_password_file(password_file) if password_file else _ask_password()
    profile = create_person(
        NewPerson(
            username=username,
            role=role,
            password=password,
            full_name=full_name,
            email=email,
            unit=unit,
            language=language,
        ),
        actor="cli",
    )
    click.echo(_("created user {name} with role {role}").format(name=username, role=profile.role))


@command.command("unlock-user", help=_("Clear the failed log-ins that locked a user."))
@click.argument("username")
@database_option
def unlock_user(username: str, database: str | None) -> None:
    _setup(database)
    from cadang.server.accounts.people import unlock_person

    count = unlock_person(username, actor="cli")
    click.echo(
        _("unlocked {name} ({n} failed log-in record(s) cleared)").format(name=username, n=count)
    )


@command.command("list-users", help=_("List the users and their roles."))
@database_option
def list_users(database: str | None) -> None:
    _setup(database)
    from cadang.server.accounts.models import Profile

    for p in Profile.objects.select_related("user").order_by("user__username"):
        click.echo(f"{p.user.get_username():20}  {p.role:10}  {p.unit}")


@command.command(
    "create-demo-users",
    help=_(
        "Create one user per role to try the server out (user name = role, e-mail "
        "ROLE@demo.invalid), each with a new password printed once. Users that exist are "
        "left as they are."
    ),
)
@click.option(
    "--unit",
    default=None,
    metavar="OWNER",
    help=_(
        "The requesting unit's owner name in the plan (default: the owner of the first "
        "application in the catalog)."
    ),
)
@database_option
def create_demo_users(unit: str | None, database: str | None) -> None:
    _setup(database)
    from cadang.server.accounts.people import DemoStatus, create_demo_people

    people = create_demo_people(unit, actor="cli")
    for p in people:
        if p.status is DemoStatus.CREATED:
            line = _("created  {name:10} {role:10} password: {password}").format(
                name=p.username, role=p.role, password=p.password
            )
            if p.unit:
                line += "  " + _("unit: {unit}").format(unit=p.unit)
        elif p.status is DemoStatus.EXISTS:
            line = _("exists   {name:10} left as it is").format(name=p.username)
        else:
            line = _("skipped  {name:10} no unit: give --unit OWNER or import a plan first").format(
                name=p.username
            )
        click.echo(line)
    if any(p.status is DemoStatus.CREATED for p in people):
        click.echo(_("Keep these passwords: they are not shown again."), err=True)
