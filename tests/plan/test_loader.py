"""Loading the plan file: every problem at once, each at its own line, in our own words."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from cadang.errors import PlanError, PlanProblem
from cadang.plan.example import EXAMPLE_PLAN
from cadang.plan.loader import load_plan, load_plan_with_positions
from cadang.plan.model import PostgresSource, Priority

VALID = """\
organization:
  name: Dinas Kependudukan dan Pencatatan Sipil
  code: disdukcapil
repositories:
  main:
    path: repo
    password_env: CADANG_TEST_PW
  external-disk:
    path: /media/external/cadang
    password_file: secrets/external.pass
copies: [external-disk]
applications:
  - name: siak
    owner: Bidang PIAK
    priority: daily
    classification: confidential
    sources:
      - type: postgres
        name: database
        databases: [siak]
      - type: files
        name: berkas
        paths: [data, /srv/siak]
"""


def write(tmp_path: Path, text: str, name: str = "cadang.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[PlanProblem]:
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert info.value.exit_code == 2
    return info.value.problems


def line_of(path: Path, needle: str, nth: int = 0) -> int:
    """1-based number of the line holding ``needle`` (the nth such line)."""
    lines = [i + 1 for i, t in enumerate(path.read_text().splitlines()) if needle in t]
    assert len(lines) > nth, f"{needle!r} not in the test file"
    return lines[nth]


def find(problems: list[PlanProblem], text: str) -> PlanProblem:
    hits = [p for p in problems if text in p.message]
    assert len(hits) == 1, f"{text!r} in {[str(p) for p in problems]}"
    return hits[0]


# --- a valid plan ---------------------------------------------------------------------------


def test_valid_plan_loads_with_defaults_and_positions(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    plan, positions = load_plan_with_positions(path)
    assert plan.organization.code == "disdukcapil"
    assert list(plan.repositories) == ["main", "external-disk"]
    assert plan.naming.template == "{org}-{app}-{source}-{time:%Y%m%d-%H%M}"
    assert Priority.DAILY in plan.retention  # the default retention
    app = plan.applications[0]
    assert isinstance(app.sources[0], PostgresSource)
    assert app.sources[0].port == 5432 and app.sources[0].databases == ["siak"]
    # Positions of sources and repositories, for the environment checks.
    assert positions.at("applications", 0, "sources", 1)[0] == line_of(path, "type: files")
    assert positions.at("repositories", "external-disk")[0] == line_of(path, "external-disk:")


def test_relative_paths_are_relative_to_the_plan_file(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    old = os.getcwd()
    os.chdir(elsewhere)
    try:
        plan = load_plan(Path("..") / "cadang.yaml")
    finally:
        os.chdir(old)
    assert plan.repositories["main"].path == str(tmp_path / "repo")
    assert plan.repositories["external-disk"].password_file == str(
        tmp_path / "secrets" / "external.pass"
    )
    assert plan.repositories["external-disk"].path == "/media/external/cadang"
    files = plan.applications[0].sources[1]
    assert files.type == "files"
    assert files.paths == [str(tmp_path / "data"), "/srv/siak"]


def test_the_example_plan_is_valid(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, EXAMPLE_PLAN))
    kinds = {s.type for a in plan.applications for s in a.sources}
    assert kinds >= {"files", "postgres", "mariadb", "sqlite", "oracle", "command"}
    assert plan.copies == ["external-disk"]
    assert set(plan.retention) == set(Priority)
    assert any(a.service and a.service.health for a in plan.applications)
    assert {a.priority for a in plan.applications} == set(Priority)


# --- every kind of error, at its line --------------------------------------------------------


def test_many_errors_are_all_reported_each_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        organization:
          name: Disdukcapil
          code: Bad Code
        repositories:
          main:
            path: repo
            password_env: PW
        naming:
          template: "{org}-{apq}"
        retention:
          hourly:
            keep_daily: -1
        applications:
          - name: siak
            owner: Bidang PIAK
            priority: often
            classification: secret
            repository: mian
            sources:
              - type: postgres
                name: db
                port: x
                databases: everything
                prot: 1
              - type: weird
                name: q
              - name: untyped
              - type: files
                name: f
                paths: []
              - type: oracle
                name: o
                connect: siak@SIAKDB
                schemas: [SIAK]
                tool: exp
              - type: files
                name: g
                paths: [/srv]
                one_file_system: maybe
          - name: simpeg
            priority: daily
            service: stop
            sources:
              - type: sqlite
                name: s
                path:
        copies: [external]
        """,
    )
    problems = problems_of(path)
    expected = {
        "'Bad Code' is not a valid name": "code: Bad Code",
        "naming.template: unknown field {apq}": "template:",
        "'hourly' is not one of daily, weekly, monthly": "hourly:",
        "keep_daily must be at least 0, not -1": "keep_daily: -1",
        "'often' is not one of daily, weekly, monthly": "priority: often",
        "'secret' is not one of public, internal, confidential": "classification: secret",
        "unknown repository 'mian'": "repository: mian",
        "port must be a whole number, not 'x'": "port: x",
        "databases must be a list or 'all', not 'everything'": "databases: everything",
        "unknown key 'prot'": "prot: 1",
        "unknown source type 'weird'": "type: weird",
        "the source type is missing": "name: untyped",
        "paths needs at least 1 item": "paths: []",
        "'exp' is not one of datapump, legacy": "tool: exp",
        "one_file_system must be true or false, not 'maybe'": "one_file_system: maybe",
        "applications[1].owner is required": "name: simpeg",
        "applications[1].service must be a mapping": "service: stop",
        "path has no value": "path:",
        "copies names unknown repository 'external'": "copies:",
    }
    for text, needle in expected.items():
        nth = 1 if needle == "path:" else 0  # the first 'path:' is the repository's
        assert find(problems, text).line == line_of(path, needle, nth), text
    assert len(problems) == len(expected), [str(p) for p in problems]
    assert all(p.file == str(path) and p.column >= 1 for p in problems)
    # Sorted by position, so the listing reads top to bottom.
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_hints(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        VALID.replace("        databases: [siak]", "        databses: [siak]").replace(
            "name: berkas", "name: Berkas"
        ),
    )
    problems = problems_of(path)
    typo = find(problems, "unknown key 'databses'")
    assert typo.hint == "did you mean databases?"
    assert typo.line == line_of(path, "databses")
    name = find(problems, "'Berkas' is not a valid name")
    assert name.hint is not None and "lowercase letters, digits, - _ ." in name.hint


def test_unknown_source_type_lists_the_types(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("type: postgres", "type: postgresql"))
    (p,) = problems_of(path)
    assert p.message == (
        "unknown source type 'postgresql'; use one of files, postgres, mariadb, mysql, "
        "sqlite, oracle, command"
    )
    assert (p.line, p.column) == (line_of(path, "type: postgresql"), 15)
    assert p.hint == "did you mean postgres?"


def test_missing_sections_and_top_level_typo(tmp_path: Path) -> None:
    path = write(tmp_path, "organisation:\n  name: x\n  code: x\n")
    problems = problems_of(path)
    assert {p.message for p in problems} == {
        "organization is required",
        "repositories is required",
        "applications is required",
        "the plan: unknown key 'organisation'",
    }
    assert find(problems, "unknown key").hint == "did you mean organization?"


def test_value_errors_of_the_model_keep_their_message(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("    password_env: CADANG_TEST_PW\n", ""))
    (p,) = problems_of(path)
    assert "give password_file or password_env" in p.message
    assert p.line == line_of(path, "main:")


def test_duplicate_names_point_at_the_second_one(tmp_path: Path) -> None:
    text = VALID + textwrap.indent(
        "- name: siak\n  owner: x\n  priority: weekly\n  sources:\n"
        "    - {type: files, name: a, paths: [x]}\n    - {type: sqlite, name: a, path: x.db}\n",
        "  ",
    )
    path = write(tmp_path, text)
    problems = problems_of(path)
    app = find(problems, "application name 'siak' is used twice")
    assert app.line == line_of(path, "- name: siak", 1)
    assert app.hint == f"the other one is on line {line_of(path, '- name: siak')}"
    src = find(problems, "source name 'a' is used twice")
    assert src.line == line_of(path, "type: sqlite")
    assert len(problems) == 2


def test_bad_naming_format_spec(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + 'naming:\n  template: "{org:%Y}-{time:%Y"\n')
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].message.startswith("naming.template:")
    assert problems[0].line == line_of(path, "template:")


# --- secrets --------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["password", "passphrase", "Password"])
def test_secrets_are_rejected_wherever_they_are(tmp_path: Path, key: str) -> None:
    text = VALID.replace(
        "        databases: [siak]", f"        databases: [siak]\n        {key}: rahasia"
    ).replace("    password_env: CADANG_TEST_PW", f"    password_env: PW\n    {key}: rahasia")
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert len(problems) == 2, [str(p) for p in problems]  # no extra 'unknown key' as well
    for p, nth in zip(problems, (0, 1), strict=True):
        assert "secrets never go in the plan file" in p.message
        assert p.hint == "use password_file or password_env (or .pgpass / a MariaDB option file)"
        assert p.line == line_of(path, f"{key}: rahasia", nth)
    assert "rahasia" not in str(problems)


# --- the file itself ------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    (p,) = problems_of(tmp_path / "nope.yaml")
    assert "does not exist" in p.message and p.line == 0
    assert p.hint is not None and "cadang plan init" in p.hint


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    (p,) = problems_of(write(tmp_path, text))
    assert p.message == "the plan file is empty"


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "42\n"])
def test_not_a_mapping(tmp_path: Path, text: str) -> None:
    (p,) = problems_of(write(tmp_path, text))
    assert p.message.startswith("the plan must be a mapping")
    assert p.line == 1


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("organization:\n  name: x\n\tcode: y\n", 3, "'\\t'"),
        ("organization: {name: [x\n", 2, "flow sequence"),
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key"),
        ("organization:\n  name: x\n code: y\n", 3, "expected <block end>"),
    ],
)
def test_yaml_syntax_errors(tmp_path: Path, text: str, line: int, words: str) -> None:
    (p,) = problems_of(write(tmp_path, text))
    assert p.message.startswith("YAML syntax error:")
    assert words in p.message
    assert p.line == line


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "cadang.yaml"
    path.write_bytes(b"organization:\n  name: Dinas \xff\n")
    (p,) = problems_of(path)
    assert "not UTF-8" in p.message


def test_plan_error_message_lists_every_problem(tmp_path: Path) -> None:
    text = VALID.replace("priority: daily", "priority: often")
    path = write(tmp_path, text.replace("code: disdukcapil", "code: Dis"))
    with pytest.raises(PlanError) as info:
        load_plan(path)
    err = info.value
    assert len(err.problems) == 2
    lines = err.message.splitlines()
    assert lines[0] == f"the plan {path} has 2 problems:"
    assert lines[1].startswith(f"  {path}:{line_of(path, 'code: Dis')}:9: ")
    assert "(hint: use lowercase letters" in lines[1]
    assert lines[2].startswith(f"  {path}:{line_of(path, 'priority: often')}:")
