"""The state directory: where it is, and the records of checks and runs kept in it."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from conftest import Office

from cadang.checks.base import Checklist, CheckRecord, Result
from cadang.errors import UsageError
from cadang.plan import state as state_mod
from cadang.plan.model import Plan
from cadang.plan.run import Runner
from cadang.plan.state import StateStore, open_state, state_dir


def checklist(apps: list[str], result: Result = Result.PASSED) -> Checklist:
    rec = CheckRecord("storage", "repository main", "2025-03-01T23:00:00+08:00", 0.0, result, "s")
    return Checklist("Dinas", "host", "2025-03-01T23:00:00+08:00", apps=apps, records=[rec])


def test_where_the_state_directory_is(
    office: Office, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADANG_STATE_DIR", str(tmp_path / "from-env"))
    office.plan["state_dir"] = "var/state"  # relative to the plan file's folder
    plan = office.load()
    assert isinstance(plan, Plan)
    assert state_dir(plan) == tmp_path / "from-env"
    monkeypatch.delenv("CADANG_STATE_DIR")
    assert state_dir(plan) == office.root / "var" / "state"
    no_dir = plan.model_copy(update={"state_dir": None})
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    if os.geteuid() == 0:
        system = tmp_path / "var-lib-cadang"
        monkeypatch.setattr(state_mod, "SYSTEM_STATE_DIR", str(system))
        assert state_dir(no_dir) == system  # root, and its parent can be written
        monkeypatch.setattr(state_mod, "SYSTEM_STATE_DIR", "/proc/no/such/cadang")
    assert state_dir(no_dir) == tmp_path / "xdg" / "cadang"


def test_checklists_saved_and_loaded_newest_first(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    assert store.load_checklists() == []
    first = store.save_checklist(checklist(["siak"]))
    second = store.save_record(
        "checks",
        checklist(["arsip"], Result.FAILED).to_json(),
        when=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5),
    )
    assert first != second
    assert stat.S_IMODE(os.stat(tmp_path / "state").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o600
    (tmp_path / "state" / "checks" / "29991231T000000Z-broken.json").write_text("{not json")
    loaded = store.load_checklists()
    assert [c.apps for c in loaded] == [["arsip"], ["siak"]]
    assert loaded[0].status is Result.FAILED
    assert [c.apps for c in store.load_checklists(app="siak")] == [["siak"]]
    assert len(store.load_checklists(limit=1)) == 1
    assert not [n for n in os.listdir(tmp_path / "state" / "checks") if n.endswith(".tmp")]


def test_unwritable_state_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UsageError) as err:
        StateStore(blocker / "state").save_checklist(checklist(["siak"]))
    assert "state directory" in err.value.message and err.value.hint
    assert "state_dir" in err.value.hint


def test_runs_are_recorded_with_their_sizes(office: Office, _private_state_dir: Path) -> None:
    plan = office.load()
    assert isinstance(plan, Plan)
    store = open_state(plan)
    assert store.path == _private_state_dir
    assert store.last_run_sizes("siak", "code") is None
    report = Runner(plan, lock_wait=0).run()
    assert report.exit_code == 0
    runs = store.load_run_reports()
    assert len(runs) == 1 and runs[0]["started"] == report.started
    code = next(r for r in report.results if r.source == "code")
    sizes = store.last_run_sizes("siak", "code")
    assert sizes is not None
    assert (sizes.size, sizes.data_added, sizes.files) == (code.size, code.data_added, code.files)
    assert sizes.data_added > 0
    assert store.last_run_sizes("siak", "nope") is None
    # The run's checklist was recorded too.
    assert [c.origin for c in store.load_checklists()] == ["run"]
    # A dry run records nothing.
    Runner(plan, dry_run=True).run()
    assert len(store.load_run_reports()) == 1
