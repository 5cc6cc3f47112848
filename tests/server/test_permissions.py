"""Who may do what, over the whole server: every role against every action.

For each action of ``PERMISSIONS`` the table ``PROBES`` names the real requests that take it.
Every role that may not take the action gets 403 from each of them; every role that may
opens its pages (GET) without a 403; a requesting unit gets 404 for another unit's objects;
an anonymous visitor is sent to log in. A URL another app has not built yet is skipped by
name ("URL runs:start not built yet"), so the table is written once, for the finished server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.test import Client
from django.urls import NoReverseMatch, reverse

from cadang.plan.loader import load_plan
from cadang.server.accounts.models import Profile, Role
from cadang.server.accounts.roles import PERMISSIONS, can
from cadang.server.approvals.models import BackupExecutionForm
from cadang.server.inventory.catalog import store_plan
from cadang.server.inventory.models import Application

from server.approvals.approvals_factories import make_form

R = Role
ALL = frozenset(Role)

# The table as the procedures give it, written out so that widening an action is a
# deliberate change here as well as in accounts/roles.py.
EXPECTED: dict[str, frozenset[Role]] = {
    "view_dashboard": ALL,
    "view_inventory": ALL,
    "edit_inventory": frozenset({R.ADMIN}),
    "import_plan": frozenset({R.ADMIN}),
    "export_plan": frozenset({R.ADMIN, R.AUDITOR}),
    "view_runs": ALL,
    "start_run": frozenset({R.OPERATOR, R.CRYPTO, R.ADMIN}),
    "edit_schedules": frozenset({R.ADMIN}),
    "view_forms": ALL,
    "confirm_form": frozenset({R.OPERATOR, R.CRYPTO}),
    "verify_form": frozenset({R.VERIFIER}),
    "approve_month": frozenset({R.APPROVER}),
    "view_monthly_report": frozenset({R.VERIFIER, R.APPROVER, R.HEAD, R.AUDITOR, R.ADMIN}),
    "view_notifications": frozenset({R.VERIFIER, R.APPROVER, R.HEAD, R.AUDITOR, R.ADMIN}),
    "edit_settings": frozenset({R.ADMIN}),
    "view_audit": frozenset({R.AUDITOR, R.ADMIN}),
    "manage_users": frozenset({R.ADMIN}),
}

UNIT = "BKPSDM"  # the requesting unit's own owner in the sample plan (simpeg)


@dataclass
class World:
    """The objects the URLs name: one application, run and form per unit."""

    own_app: Application
    other_app: Application
    own_form: BackupExecutionForm
    other_form: BackupExecutionForm
    someone: User  # a person whose account the administrator manages


@dataclass(frozen=True)
class Probe:
    """A request that takes an action: a URL name, how to build its arguments, a method."""

    name: str
    method: str = "get"  # "post" for actions that change something (POST only)
    args: Callable[[World], tuple[object, ...]] = lambda w: ()
    data: tuple[tuple[str, str], ...] = ()


def own_form(w: World) -> tuple[object, ...]:
    return (w.own_form.pk,)


def own_app_name(w: World) -> tuple[object, ...]:
    return (w.own_app.name,)


def form_month(w: World) -> tuple[object, ...]:
    return (w.own_form.month.year, w.own_form.month.month)


def own_run(w: World) -> tuple[object, ...]:
    return (w.own_form.run_id,)


def someone(w: World) -> tuple[object, ...]:
    return (w.someone.pk,)


# action -> the requests that take it. URLs of apps still being built are named as they
# will be; the test skips them by name until they exist.
PROBES: dict[str, list[Probe]] = {
    "view_dashboard": [Probe("home")],
    "view_inventory": [
        Probe("inventory:list"),
        Probe("inventory:detail", args=own_app_name),
        Probe("inventory:reviews"),
    ],
    "edit_inventory": [
        Probe("inventory:edit", args=own_app_name),
        Probe(
            "inventory:edit",
            "post",
            own_app_name,
            (
                ("owner", "X"),
                ("priority", "weekly"),
                ("classification", "internal"),
                ("reason", "r"),
            ),
        ),
        Probe("inventory:review", "post", data=(("remarks", "reviewed"),)),
    ],
    "import_plan": [Probe("inventory:import"), Probe("inventory:import", "post")],
    "export_plan": [Probe("inventory:export")],
    "view_runs": [
        Probe("runs:list"),
        Probe("runs:detail", args=own_run),
        Probe("runs:live", args=own_run),
    ],
    "start_run": [Probe("runs:start", "post", data=(("application", "simpeg"),))],
    "edit_schedules": [Probe("runs:schedules"), Probe("runs:schedules", "post")],
    "view_forms": [
        Probe("approvals:list"),
        Probe("approvals:inbox"),
        Probe("approvals:detail", args=own_form),
    ],
    "confirm_form": [Probe("approvals:confirm", "post", own_form, (("remarks", "ok"),))],
    "verify_form": [
        Probe("approvals:verify", "post", own_form),
        Probe("approvals:return", "post", own_form, (("reason", "wrong label"),)),
    ],
    "approve_month": [Probe("approvals:approve_month", "post", form_month)],
    "view_monthly_report": [Probe("approvals:month", args=form_month)],
    "view_notifications": [Probe("notify:list")],
    "edit_settings": [
        Probe("approvals:standard_times"),
        Probe("approvals:standard_times", "post", data=(("confirmed", "1"),)),
        Probe("notify:settings"),
        Probe("notify:settings", "post", data=(("webhook_url", "http://127.0.0.1:9/"),)),
        Probe("notify:test", "post"),
    ],
    "view_audit": [Probe("audit:list"), Probe("audit:verify", "post")],
    "manage_users": [
        Probe("accounts:users"),
        Probe("accounts:user_new"),
        Probe("accounts:user_new", "post", data=(("username", "intruder"), ("role", "admin"))),
        Probe("accounts:user_edit", args=someone),
        Probe("accounts:user_edit", "post", someone, (("role", "admin"),)),
        Probe("accounts:user_unlock", "post", someone),
    ],
}

# Objects of another unit: a requesting unit gets 404 for each, as if they did not exist.
OTHER_UNIT: list[Probe] = [
    Probe("inventory:detail", args=lambda w: (w.other_app.name,)),
    Probe("approvals:detail", args=lambda w: (w.other_form.pk,)),
    Probe("runs:detail", args=lambda w: (w.other_form.run_id,)),
    Probe("runs:live", args=lambda w: (w.other_form.run_id,)),
]


def someone_user() -> User:
    user = User.objects.create_user("someone", password="a-long-test-password-9")
    Profile.objects.create(user=user, role=Role.OPERATOR, language="en")
    return user


@pytest.fixture
def world(db: None, defaults: None, sample_plan_file: Path) -> World:
    store_plan(load_plan(sample_plan_file))
    own_app = Application.objects.get(owner=UNIT)
    other_app = Application.objects.exclude(owner=UNIT).get()
    return World(
        own_app=own_app,
        other_app=other_app,
        own_form=make_form(own_app),
        other_form=make_form(other_app),
        someone=someone_user(),
    )


def url_of(probe: Probe, w: World) -> str:
    try:
        return reverse(probe.name, args=probe.args(w))
    except NoReverseMatch:
        pytest.skip(f"URL {probe.name} not built yet")


def request(client: Client, probe: Probe, w: World) -> int:
    url = url_of(probe, w)
    if probe.method == "post":
        return client.post(url, dict(probe.data)).status_code
    return client.get(url).status_code


def probe_id(probe: Probe) -> str:
    return f"{probe.method}-{probe.name}"


def cases(allowed: bool) -> list[object]:
    """(action, probe, role) for the roles that may (or may not) take the action."""
    return [
        pytest.param(action, probe, role, id=f"{action}-{probe_id(probe)}-{role.value}")
        for action in sorted(PERMISSIONS)
        for probe in PROBES.get(action, [])
        for role in Role
        if (role in PERMISSIONS[action]) is allowed
    ]


ALL_PROBES = [
    pytest.param(probe, id=f"{action}-{probe_id(probe)}")
    for action in sorted(PROBES)
    for probe in PROBES[action]
]


def test_the_table_is_the_one_the_procedures_give() -> None:
    assert PERMISSIONS == EXPECTED


def test_every_action_has_its_requests() -> None:
    assert set(PROBES) == set(PERMISSIONS)
    assert all(PROBES[action] for action in PROBES)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", sorted(PERMISSIONS))
def test_can_matches_the_table(make_user: Callable[..., User], role: Role, action: str) -> None:
    user = make_user(f"user-{role.value}", role, unit=UNIT)
    assert can(user, action) is (role in PERMISSIONS[action])


@pytest.mark.parametrize("action", sorted(PERMISSIONS))
def test_nobody_without_a_role_may_do_anything(db: None, action: str) -> None:
    assert not can(AnonymousUser(), action)
    user = User.objects.create_user("no-profile", password="x-long-password-1")
    assert not can(user, action)


@pytest.mark.parametrize(("action", "probe", "role"), cases(allowed=False))
def test_a_role_that_may_not_is_refused(
    world: World, client_for: Callable[..., Client], action: str, probe: Probe, role: Role
) -> None:
    client = client_for(role, unit=UNIT)
    assert request(client, probe, world) == 403


@pytest.mark.parametrize(
    ("action", "probe", "role"),
    [c for c in cases(allowed=True) if c.values[1].method == "get"],  # type: ignore[attr-defined]
)
def test_a_role_that_may_opens_the_page(
    world: World, client_for: Callable[..., Client], action: str, probe: Probe, role: Role
) -> None:
    client = client_for(role, unit=UNIT)
    status = request(client, probe, world)
    assert status not in (403, 404)
    assert status < 500


def own_object(name: str, w: World) -> tuple[object, ...]:
    return {
        "inventory:detail": (w.own_app.name,),
        "approvals:detail": (w.own_form.pk,),
        "runs:detail": (w.own_form.run_id,),
        "runs:live": (w.own_form.run_id,),
    }[name]


@pytest.mark.parametrize("probe", OTHER_UNIT, ids=lambda p: p.name)
def test_a_unit_gets_404_for_another_units_objects(
    world: World, client_for: Callable[..., Client], probe: Probe
) -> None:
    client = client_for(Role.UNIT, unit=UNIT)
    assert request(client, probe, world) == 404
    own = Probe(probe.name, args=lambda w: own_object(probe.name, w))
    assert request(client, own, world) == 200


@pytest.mark.parametrize("probe", ALL_PROBES)
def test_anonymous_is_sent_to_log_in(world: World, client: Client, probe: Probe) -> None:
    url = url_of(probe, world)
    response = client.post(url) if probe.method == "post" else client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
