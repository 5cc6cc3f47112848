"""cadang plan init / plan check, and the global -c/--config option."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult, run_cadang

from cadang.plan.example import EXAMPLE_PLAN
from cadang.plan.loader import load_plan

Cli = Callable[..., CliResult]

BROKEN = """\
organization:
  name: Dinas Kominfo
  code: kominfo
repositories:
  main:
    path: repo
    password_env: CADANG_TEST_PW
applications:
  - name: simpeg
    owner: BKPSDM
    priority: sometimes
    sources:
      - type: postgres
        name: db
        prot: 5432
"""


@pytest.fixture(autouse=True)
def _no_plan_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CADANG_CONFIG", raising=False)


def prepare_machine_for(plan_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Create the secrets the plan names and stand-ins for the programs it needs that this
    machine lacks (the example has Oracle and MongoDB sources), as an operator would."""
    from cadang.sources.registry import make_source

    plan = load_plan(plan_path)
    secrets = [r.password_file for r in plan.repositories.values()]
    secrets += [getattr(s, "password_file", None) for a in plan.applications for s in a.sources]
    for secret in filter(None, secrets):
        Path(secret).parent.mkdir(parents=True, exist_ok=True)
        Path(secret).write_text("rahasia\n")
        Path(secret).chmod(0o600)
    bin_dir = plan_path.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    for app in plan.applications:
        for config in app.sources:
            for tool in make_source(config).required_tools():
                if shutil.which(tool.command) is None:
                    stub = bin_dir / tool.command
                    stub.write_text("#!/bin/sh\nexit 0\n")
                    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_init_writes_an_example_that_check_offline_accepts(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = tmp_path / "etc" / "cadang.yaml"
    plan.parent.mkdir()
    r = cli("plan", "init", plan)
    assert r.code == 0, r.err
    assert plan.read_text() == EXAMPLE_PLAN
    assert "plan check" in r.out
    # Before the machine is prepared, the check says what is missing (secrets, ...).
    r = cli("-c", plan, "plan", "check", "--offline")
    assert r.code == 2
    assert f"{plan}:" in r.out and "secrets/main.pass does not exist" in r.out
    prepare_machine_for(plan, monkeypatch)
    r = cli("-c", plan, "plan", "check", "--offline")
    assert r.code == 0, r.out + r.err
    assert "the plan is ready (5 application(s), 9 source(s), 0 warning(s))" in r.out
    assert "offline: databases and repositories were not checked" in r.out


def test_init_refuses_to_overwrite_without_force(cli: Cli, tmp_path: Path) -> None:
    plan = tmp_path / "cadang.yaml"
    plan.write_text("# my own plan\n")
    r = cli("plan", "init", plan)
    assert r.code == 2
    assert "already exists" in r.err and "--force" in r.err
    assert plan.read_text() == "# my own plan\n"
    r = cli("plan", "init", plan, "--force")
    assert r.code == 0, r.err
    assert plan.read_text() == EXAMPLE_PLAN


def test_init_to_stdout_and_default_name(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = cli("plan", "init", "-")
    assert r.code == 0 and r.out == EXAMPLE_PLAN
    monkeypatch.chdir(tmp_path)
    r = cli("plan", "init")
    assert r.code == 0, r.err
    assert (tmp_path / "cadang.yaml").read_text() == EXAMPLE_PLAN
    # With -c, init writes the plan it names.
    r = cli("-c", "other.yaml", "plan", "init")
    assert r.code == 0, r.err
    assert (tmp_path / "other.yaml").read_text() == EXAMPLE_PLAN


def test_check_a_broken_plan(cli: Cli, tmp_path: Path) -> None:
    plan = tmp_path / "cadang.yaml"
    plan.write_text(BROKEN)
    r = cli("-c", plan, "plan", "check")
    assert r.code == 2
    lines = r.out.splitlines()
    assert (
        f"{plan}:11:15: applications[0].priority: 'sometimes' is not one of daily, weekly, monthly"
        in lines
    )
    assert f"{plan}:15:9: applications[0].sources[0]: unknown key 'prot'" in lines
    assert "    hint: did you mean port?" in lines
    assert "2 errors" in r.out
    assert "Traceback" not in r.out + r.err


def test_check_json(cli: Cli, tmp_path: Path) -> None:
    plan = tmp_path / "cadang.yaml"
    plan.write_text(BROKEN)
    r = cli("-c", plan, "plan", "check", "--json")
    assert r.code == 2
    out = json.loads(r.out)
    assert out["ok"] is False and out["errors"] == 2
    assert [(p["line"], p["severity"]) for p in out["problems"]] == [(11, "error"), (15, "error")]
    assert out["problems"][1]["hint"] == "did you mean port?"


def test_warnings_alone_exit_zero(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADANG_TEST_PW", "rahasia")
    plan = tmp_path / "cadang.yaml"
    plan.write_text(
        BROKEN.replace("sometimes", "daily")
        .replace("prot: 5432", "port: 5432")
        .replace("type: postgres", "type: files")
        .replace("port: 5432", "paths: [data]")
    )
    (tmp_path / "data").mkdir()
    r = cli("-c", plan, "plan", "check")  # online: the repository does not exist yet
    assert r.code == 0, r.out + r.err
    assert f"{plan}:6:11:" in r.out and "warning: repository main: there is no repository" in r.out
    assert "cadang init --repo" in r.out
    assert "the plan is ready (1 application(s), 1 source(s), 1 warning(s))" in r.out


def test_config_from_the_environment(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = tmp_path / "cadang.yaml"
    plan.write_text(BROKEN)
    monkeypatch.setenv("CADANG_CONFIG", str(plan))
    r = cli("plan", "check", "--offline")
    assert r.code == 2 and f"{plan}:11:15:" in r.out


def test_check_needs_a_plan(cli: Cli) -> None:
    r = cli("plan", "check")
    assert r.code == 2
    assert "this command needs a plan: cadang -c cadang.yaml plan check" in r.err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "does not exist"),
        ("organization:\n  name: x\n\tcode: y\n", ":3:1: YAML syntax error"),
        ("", "the plan file is empty"),
        ("- just\n- a list\n", ":1:1: the plan must be a mapping"),
    ],
)
def test_no_traceback_for_bad_files(
    cli: Cli, tmp_path: Path, content: str | None, words: str
) -> None:
    plan = tmp_path / "cadang.yaml"
    if content is not None:
        plan.write_text(content)
    r = cli("-c", plan, "plan", "check")
    assert r.code == 2
    assert words in r.out
    assert "Traceback" not in r.out + r.err


@pytest.mark.slow
def test_check_in_a_subprocess_prints_no_traceback(cli_env: dict[str, str], tmp_path: Path) -> None:
    plan = tmp_path / "cadang.yaml"
    plan.write_text("organization: [unclosed\n")
    r = run_cadang("-c", plan, "plan", "check", env=cli_env)
    assert r.returncode == 2
    out = r.stdout.decode() + r.stderr.decode()
    assert f"{plan}:2:1: YAML syntax error" in out
    assert "Traceback" not in out
