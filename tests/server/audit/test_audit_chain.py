"""verify_chain finds every edited, deleted, moved or inserted entry; the anchor guards the end."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import transaction

from cadang.server.audit.anchor import Anchor, anchor_path, read_anchor, reset_anchor, write_anchor
from cadang.server.audit.chain import Kind, Problem, iter_entries, verify_chain
from cadang.server.audit.log import GENESIS, entry_hash, record
from cadang.server.audit.models import AuditEntry, AuditEntryChanged

Entries = Callable[[int], list[AuditEntry]]
RawSql = Callable[..., None]


def kinds(problems: list[Problem]) -> list[tuple[Kind, int | None]]:
    return [(p.kind, p.seq) for p in problems]


def test_an_untouched_log_is_intact(entries: Entries) -> None:
    made = entries(5)
    report = verify_chain()
    assert report.intact, report.problems
    assert report.entries == 5
    assert report.last_seq == 5
    assert report.anchor == Anchor(5, made[-1].hash)
    assert report.notes == []


@pytest.mark.django_db
def test_an_empty_log_is_intact() -> None:
    report = verify_chain()
    assert report.intact and report.entries == 0 and report.notes == []


def test_an_entry_edited_in_sql_is_named(entries: Entries, raw_sql: RawSql) -> None:
    entries(5)
    raw_sql("UPDATE {table} SET target = %s WHERE seq = %s", "someone-else", 3)
    report = verify_chain()
    assert not report.intact
    assert kinds(report.problems) == [(Kind.CHANGED, 3)]


def test_edited_details_are_found_too(entries: Entries, raw_sql: RawSql) -> None:
    entries(4)
    raw_sql("UPDATE {table} SET details = %s WHERE seq = %s", json.dumps({"i": 99}), 2)
    assert kinds(verify_chain().problems) == [(Kind.CHANGED, 2)]


def test_an_entry_deleted_in_the_middle_leaves_a_gap(entries: Entries, raw_sql: RawSql) -> None:
    entries(5)
    raw_sql("DELETE FROM {table} WHERE seq = %s", 3)
    report = verify_chain()
    assert report.problems == [Problem(Kind.MISSING, params={"first": 3, "last": 3})]
    assert report.entries == 4


def test_the_first_entries_deleted_are_found(entries: Entries, raw_sql: RawSql) -> None:
    entries(4)
    raw_sql("DELETE FROM {table} WHERE seq <= %s", 2)
    assert verify_chain().problems == [Problem(Kind.MISSING, params={"first": 1, "last": 2})]


def test_the_last_entry_deleted_is_found_by_the_anchor(entries: Entries, raw_sql: RawSql) -> None:
    entries(5)
    raw_sql("DELETE FROM {table} WHERE seq = %s", 5)
    report = verify_chain()
    # The chain of 1..4 is whole; only the anchor knows there was a 5.
    assert report.problems == [Problem(Kind.TRUNCATED, 5, {"last": 4})]


def test_truncation_stays_visible_after_new_entries(entries: Entries, raw_sql: RawSql) -> None:
    made = entries(5)
    raw_sql("DELETE FROM {table} WHERE seq >= %s", 4)
    entries(3)  # new entries 4, 5, 6 reuse the numbers of the deleted ones
    assert read_anchor() == Anchor(5, made[-1].hash), "the anchor keeps its evidence"
    report = verify_chain()
    assert kinds(report.problems) == [(Kind.ANCHOR_MISMATCH, 5)]


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_next_link(
    entries: Entries, raw_sql: RawSql
) -> None:
    made = entries(5)
    e = made[2]
    forged = entry_hash(e.prev_hash, e.seq, e.at, e.actor, "nothing_happened", e.target, e.details)
    raw_sql(
        "UPDATE {table} SET action = %s, hash = %s WHERE seq = %s", "nothing_happened", forged, 3
    )
    report = verify_chain()
    assert report.problems == [Problem(Kind.UNLINKED, 4, {"prev": 3})]


def test_an_inserted_entry_is_found(entries: Entries, raw_sql: RawSql) -> None:
    """Someone removes entry 3 and puts a forged one, correctly hashed after entry 2, there."""
    made = entries(5)
    two = made[1]
    raw_sql("DELETE FROM {table} WHERE seq = %s", 3)
    at = made[2].at
    forged = entry_hash(two.hash, 3, at, "admin", "login", "admin", {})
    raw_sql(
        "INSERT INTO {table} (seq, at, actor, action, target, details, prev_hash, hash) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        3,
        at,
        "admin",
        "login",
        "admin",
        "{}",
        two.hash,
        forged,
    )
    assert kinds(verify_chain().problems) == [(Kind.UNLINKED, 4)]


def test_reordered_entries_are_found(entries: Entries, raw_sql: RawSql) -> None:
    entries(5)
    raw_sql("UPDATE {table} SET seq = %s WHERE seq = %s", 1000, 2)
    raw_sql("UPDATE {table} SET seq = %s WHERE seq = %s", 2, 3)
    raw_sql("UPDATE {table} SET seq = %s WHERE seq = %s", 3, 1000)
    found = kinds(verify_chain().problems)
    assert (Kind.CHANGED, 2) in found and (Kind.CHANGED, 3) in found
    assert (Kind.UNLINKED, 4) in found


def test_every_problem_is_reported_not_just_the_first(entries: Entries, raw_sql: RawSql) -> None:
    entries(10)
    raw_sql("UPDATE {table} SET actor = %s WHERE seq IN (2, 7)", "x")
    raw_sql("DELETE FROM {table} WHERE seq = %s", 5)
    report = verify_chain()
    assert kinds(report.problems) == [(Kind.CHANGED, 2), (Kind.MISSING, None), (Kind.CHANGED, 7)]
    assert report.problem_count == 3


def test_the_walk_reads_in_batches(
    entries: Entries, raw_sql: RawSql, django_assert_max_num_queries: Callable[..., object]
) -> None:
    entries(23)
    raw_sql("UPDATE {table} SET target = %s WHERE seq = %s", "x", 17)
    assert [r.seq for r in iter_entries(batch=5)] == list(range(1, 24))
    with django_assert_max_num_queries(5 + 1 + 1):  # type: ignore[operator]
        report = verify_chain(batch=5)  # 5 pages of rows, the anchor's entry, slack
    assert report.entries == 23
    assert kinds(report.problems) == [(Kind.CHANGED, 17)]


def test_an_entry_written_after_the_anchor_is_a_note(entries: Entries) -> None:
    entries(3)
    record("late", actor="x")  # no commit callback run: the anchor still names entry 3
    report = verify_chain()
    assert report.intact
    assert report.notes == [Problem(Kind.AFTER_ANCHOR, 3, {"count": 1})]


def test_a_log_without_anchor_says_so(entries: Entries) -> None:
    entries(2)
    anchor_path().unlink()
    report = verify_chain()
    assert report.intact
    assert [n.kind for n in report.notes] == [Kind.NO_ANCHOR]


def test_a_damaged_anchor_is_a_problem(entries: Entries) -> None:
    entries(2)
    anchor_path().write_text("garbage")
    assert [p.kind for p in verify_chain().problems] == [Kind.ANCHOR_UNREADABLE]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_entry_does_not_move_the_anchor() -> None:
    first = record("kept", actor="a")
    with pytest.raises(RuntimeError), transaction.atomic():
        record("undone", actor="a")
        raise RuntimeError
    assert read_anchor() == Anchor(1, first.hash)
    assert verify_chain().intact


@pytest.mark.django_db(transaction=True)
def test_an_entry_inside_a_transaction_moves_the_anchor_at_commit() -> None:
    with transaction.atomic():
        record("one", actor="a")
        last = record("two", actor="a")
        assert read_anchor() is None
    assert read_anchor() == Anchor(2, last.hash)


def test_the_anchor_file_is_private_and_whole(entries: Entries, state_dir: Path) -> None:
    made = entries(2)
    path = anchor_path()
    assert path.parent == state_dir / "server"
    assert json.loads(path.read_text()) == {"seq": 2, "hash": made[-1].hash}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_reset_anchor_accepts_a_replaced_catalog(entries: Entries, raw_sql: RawSql) -> None:
    entries(4)
    raw_sql("DELETE FROM {table} WHERE seq = %s", 4)  # as if restored from an older copy
    assert not verify_chain().intact
    old, new = reset_anchor(actor="cli")
    assert old is not None and old.seq == 4
    assert new is not None and new.seq == 3
    reset = AuditEntry.objects.get(action="audit_anchor_reset")
    assert reset.details["old"]["seq"] == 4 and reset.actor == "cli"
    assert verify_chain().intact


def test_write_anchor_replaces_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "anchor"
    write_anchor(Anchor(1, "a" * 64), path)
    write_anchor(Anchor(2, "b" * 64), path)
    assert read_anchor(path) == Anchor(2, "b" * 64)


def test_the_orm_refuses_to_change_or_delete_an_entry(entries: Entries) -> None:
    e = entries(1)[0]
    e.target = "other"
    with pytest.raises(AuditEntryChanged):
        e.save()
    with pytest.raises(AuditEntryChanged):
        e.delete()
    with pytest.raises(AuditEntryChanged):
        AuditEntry.objects.filter(seq=1).update(target="other")
    with pytest.raises(AuditEntryChanged):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(seq=1).target == "t0"
    assert verify_chain().intact


def test_the_first_entry_starts_from_the_genesis_hash(entries: Entries) -> None:
    assert entries(1)[0].prev_hash == GENESIS


@pytest.mark.django_db(transaction=True)
def test_writers_at_the_same_time_keep_one_chain() -> None:
    """The web pages and the scheduler record at once: no number is lost or taken twice."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; run with CADANG_SERVER_DATABASE=postgresql")
    import threading

    from django.db import connections

    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(10):
                with transaction.atomic():
                    record("parallel", actor=f"w{n}", target=str(i))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify_chain()
    assert report.intact, report.problems
    assert report.entries == 40
    assert read_anchor() == Anchor(40, AuditEntry.objects.get(seq=40).hash)
