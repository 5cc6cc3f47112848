"""cadang -c PLAN run (its verification), verify and status from the command line; the
records travel with copy and go with forget."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from conftest import TEST_PASSWORD, CliResult, Office, flip_byte

from cadang.backends.local import LocalBackend
from cadang.repo.repository import Repository
from cadang.repo.snapshot import load_all
from cadang.repo.verification import load_verifications
from cadang.repo.walker import find_node

Cli = Callable[..., CliResult]


def records(path: Path) -> list[tuple[str, str, str]]:
    """(snapshot label, kind, result) of every verification record, oldest first."""
    repo = Repository.open(LocalBackend(str(path)), TEST_PASSWORD)
    try:
        labels = {s.id: s.label for s in load_all(repo)}
        return [
            (labels.get(r.snapshot, "?"), r.kind.value, r.result.value)
            for r in load_verifications(repo)
        ]
    finally:
        repo.close()


def test_run_verifies_each_snapshot_and_status_shows_it(cli: Cli, office: Office) -> None:
    plan = office.write()
    r = cli("-c", plan, "run")
    assert r.code == 0, r.err + r.out
    header = next(line for line in r.out.splitlines() if line.startswith("Application"))
    assert "Verification" in header
    rows = [line for line in r.out.splitlines() if line.startswith(("siak", "arsip"))]
    assert len(rows) == 3 and all(" verified " in row for row in rows)
    kinds = records(office.repo)
    assert sorted(k for _l, k, _r in kinds) == ["read-back"] * 3 + ["restore-test"] * 3
    assert {res for _l, _k, res in kinds} == {"passed"}

    doc = json.loads(cli("-c", plan, "run", "--json").out)
    for app in doc["applications"]:
        for s in app["sources"]:
            assert s["verified"] == "passed" and "restore test" in s["verification"]

    st = cli("-c", plan, "status")
    assert st.code == 0, st.out + st.err
    assert st.out.count("verified restorable on") == 3
    assert "siak (daily, Bidang PIAK), repository main: OK" in st.out
    assert "every application is backed up in time and nothing failed" in st.out
    js = json.loads(cli("-c", plan, "status", "--app", "arsip", "--json").out)
    assert [a["name"] for a in js["applications"]] == ["arsip"] and js["exit_code"] == 0
    [docs] = js["applications"][0]["sources"]
    assert docs["last_verification"]["result"] == "passed" and docs["restorable_on"]


def test_verify_command_prints_and_stores_results(cli: Cli, office: Office) -> None:
    plan = office.write()
    assert cli("-c", plan, "verify").code == 1  # nothing backed up yet
    office.plan["verify"] = {"after_run": False}
    plan = office.write()
    assert cli("-c", plan, "run").code == 0
    assert records(office.repo) == []  # turned off in the plan

    r = cli("-c", plan, "verify", "--app", "siak")
    assert r.code == 0, r.out + r.err
    assert "siak/db: snapshot " in r.out and "siak/code: snapshot " in r.out
    assert (
        "restore test passed: 1 database(s) restored, 1 table(s), 50 row(s) as at backup" in r.out
    )
    assert r.out.count("verified restorable on") == 2
    assert "2 snapshot(s) verified, 0 failed" in r.out
    assert len(records(office.repo)) == 4

    js = json.loads(cli("-c", plan, "verify", "--no-restore-test", "--json").out)
    assert js["exit_code"] == 0 and len(js["results"]) == 3
    assert all([rec["kind"] for rec in v["records"]] == ["read-back"] for v in js["results"])

    label = js["results"][0]["label"]
    one = cli("-c", plan, "verify", "--snapshot", label)
    assert one.code == 0 and one.out.count(": snapshot ") == 1
    assert cli("-c", plan, "verify", "--snapshot", "nope").code == 1
    assert cli("-c", plan, "verify", "--app", "nope").code == 2


def test_a_corrupted_pack_makes_verify_fail_and_name_the_snapshot(cli: Cli, office: Office) -> None:
    plan = office.write()
    assert cli("-c", plan, "run", "--app", "arsip").code == 0
    repo = Repository.open(LocalBackend(str(office.repo)), TEST_PASSWORD)
    try:
        [snap] = load_all(repo)
        node = find_node(repo, snap.tree, str(office.docs / "surat-001.txt"))
        assert node is not None
        entry = repo.lookup(node.content[0])
    finally:
        repo.close()
    flip_byte(office.repo / "data" / entry.pack[:2] / entry.pack, entry.offset + 3)

    r = cli("-c", plan, "verify", "--app", "arsip")
    assert r.code == 1
    assert f"FAILED: snapshot {snap.short_id} ({snap.label}) of arsip/docs" in r.out
    assert "read-back FAILED" in r.out and str(office.docs / "surat-001.txt") in r.out
    st = cli("-c", plan, "status", "--app", "arsip")
    assert st.code == 1
    assert "last verification FAILED" in st.out and "ATTENTION" in st.out


def test_a_failed_restore_test_fails_the_run(cli: Cli, office: Office) -> None:
    office.apps()[1]["sources"].append(  # type: ignore[union-attr]
        {
            "type": "command",
            "name": "antrean",
            "backup": ["printf", "queue"],
            "restore": ["sh", "-c", "cat > /dev/null; echo cannot load >&2; exit 3", "{into}"],
            "drop": ["true", "{into}"],
        }
    )
    plan = office.write()
    r = cli("-c", plan, "run", "--app", "arsip")
    assert r.code == 1
    row = next(
        line for line in r.out.splitlines() if line.startswith("arsip") and "antrean" in line
    )
    assert "succeeded" in row and "FAILED" in row
    assert "arsip/antrean: snapshot " in r.out and "FAILED verification" in r.out
    assert "the run needs attention" in r.out
    doc = json.loads(cli("-c", plan, "run", "--app", "arsip", "--json").out)
    assert doc["exit_code"] == 1 and doc["needs_attention"] is True
    [antrean] = [s for s in doc["applications"][0]["sources"] if s["source"] == "antrean"]
    assert antrean["verified"] == "failed" and "cannot load" in antrean["verify_errors"][0]


def snapshot_records(path: Path) -> list[tuple[str, str, str | None]]:
    """(snapshot id, kind, copied_from) of every record, sorted."""
    repo = Repository.open(LocalBackend(str(path)), TEST_PASSWORD)
    try:
        return sorted((r.snapshot, r.kind.value, r.copied_from) for r in load_verifications(repo))
    finally:
        repo.close()


def snapshot_ids(path: Path) -> list[str]:
    repo = Repository.open(LocalBackend(str(path)), TEST_PASSWORD)
    try:
        return [s.id for s in load_all(repo)]
    finally:
        repo.close()


def test_forget_removes_records_and_copy_carries_them(
    cli: Cli, office: Office, tmp_path: Path
) -> None:
    plan = office.write()
    assert cli("-c", plan, "run", "--app", "arsip").code == 0
    assert cli("-c", plan, "run", "--app", "arsip").code == 0
    first, second = snapshot_ids(office.repo)
    kinds = ["read-back", "restore-test"]
    assert [(s, k) for s, k, _c in snapshot_records(office.repo)] == sorted(
        (s, k) for s in (first, second) for k in kinds
    )

    dst = tmp_path / "external"
    assert cli("init", "--repo", dst).code == 0
    c = cli("copy", "--repo", office.repo, "--to", dst, "--to-password-file", office.password_file)
    assert c.code == 0, c.out + c.err
    copies = snapshot_ids(dst)
    carried = snapshot_records(dst)
    assert len(carried) == 4 and {s for s, _k, _c in carried} == set(copies)
    assert {c for _s, _k, c in carried} == {first, second}  # each names the tested snapshot

    f = cli("forget", "--repo", office.repo, first, "--prune")
    assert f.code == 0, f.out + f.err
    assert snapshot_ids(office.repo) == [second]
    assert snapshot_records(office.repo) == [(second, k, None) for k in kinds]
    # The copy keeps its own.
    assert len(snapshot_records(dst)) == 4
