"""The antivirus check with the real ClamAV: clamscan, and a clamd started by the test."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from checks_helpers import EICAR, SIGNATURE, Clamd, clamd, path_without, sigdb
from conftest import make_tree

from cadang.backends.local import LocalBackend
from cadang.checks.antivirus import (
    AntivirusCheck,
    ClamdClient,
    exclude_pattern,
    files_to_scan,
    leave_out,
    parse_reply,
    signature_date,
    version_date,
)
from cadang.checks.base import Result
from cadang.checks.config import AntivirusPolicy, ClamAVSettings, OnInfection
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.keys import TEST_KDF
from cadang.repo.repository import Repository
from cadang.repo.walker import walk
from cadang.sources.base import BackupSpec
from cadang.sources.config import FilesSource

__all__ = ["clamd", "sigdb"]  # fixtures used by name below

TEST_PASSWORD = "pw"


def files(*paths: Path, exclude: tuple[str, ...] = ()) -> FilesSource:
    return FilesSource(
        type="files", name="berkas", paths=[str(p) for p in paths], exclude=list(exclude)
    )


def check(
    config: FilesSource,
    db: Path | None,
    policy: OnInfection = OnInfection.BLOCK,
    *,
    socket: str | None = None,
    required: bool = False,
    max_age: float = 7,
) -> AntivirusCheck:
    return AntivirusCheck(
        "siak",
        config,
        ClamAVSettings(
            clamd_socket=socket,
            database=str(db) if db else None,
            max_signature_age_days=max_age,
        ),
        AntivirusPolicy(on_infection=policy, required=required),
    )


@pytest.fixture
def clean_tree(tmp_path: Path) -> Path:
    return make_tree(
        tmp_path / "berkas",
        {"surat.txt": "Surat edaran\n", "scan": {"ktp.pdf": b"%PDF-1.4 not really\n"}},
    )


@pytest.fixture
def infected_tree(clean_tree: Path) -> Path:
    (clean_tree / "scan" / "lampiran.com").write_bytes(EICAR)
    return clean_tree


# --- clamscan -------------------------------------------------------------------------------


def test_clean_tree_passes(clean_tree: Path, sigdb: Path) -> None:
    av = check(files(clean_tree), sigdb)
    rec = av.run()
    assert rec.result is Result.PASSED, rec.summary
    assert rec.kind == "antivirus" and rec.subject == "siak/berkas"
    assert rec.details["engine"] == "clamscan"
    assert rec.details["files_scanned"] == 2
    assert rec.details["infected"] == []
    assert not rec.escalate and not av.blocks
    # The signatures were just written: their age is known and small.
    assert rec.details["signatures"]["age_days"] is not None
    assert rec.details["signatures"]["age_days"] < 1


def test_eicar_blocks_by_default(infected_tree: Path, sigdb: Path) -> None:
    av = check(files(infected_tree), sigdb)
    rec = av.run()
    assert rec.result is Result.FAILED
    assert rec.escalate
    assert av.blocks and av.quarantined == []
    infected = str(infected_tree / "scan" / "lampiran.com")
    assert rec.details["infected"] == [{"path": infected, "signature": SIGNATURE + ".UNOFFICIAL"}]
    assert rec.details["action"] == "blocked"
    assert infected in rec.summary and "blocked" in rec.summary


def test_eicar_quarantine_and_warn(infected_tree: Path, sigdb: Path) -> None:
    infected = os.fsencode(infected_tree / "scan" / "lampiran.com")
    q = check(files(infected_tree), sigdb, OnInfection.QUARANTINE)
    rec = q.run()
    assert rec.result is Result.WARNING and rec.escalate
    assert not q.blocks and q.quarantined == [infected]
    assert rec.details["action"] == "quarantined"
    w = check(files(infected_tree), sigdb, OnInfection.WARN)
    rec = w.run()
    assert rec.result is Result.WARNING and rec.escalate
    assert not w.blocks and w.quarantined == []
    assert rec.details["action"] == "warned"
    assert rec.details["infected"][0]["path"] == os.fsdecode(infected)


def test_excludes_are_honoured(infected_tree: Path, sigdb: Path) -> None:
    """A file the backup would not read is not scanned (so it does not block)."""
    rec = check(files(infected_tree, exclude=("*.com",)), sigdb).run()
    assert rec.result is Result.PASSED, rec.summary
    assert rec.details["files_scanned"] == 2
    rec = check(files(infected_tree, exclude=(str(infected_tree / "scan"),)), sigdb).run()
    assert rec.result is Result.PASSED and rec.details["files_scanned"] == 1


def test_odd_names_are_scanned_and_named(tmp_path: Path, sigdb: Path) -> None:
    root = tmp_path / "odd"
    root.mkdir()
    weird = os.fsencode(root) + b"/caf\xe9 [1]: *x?.com"
    with open(weird, "wb") as f:
        f.write(EICAR)
    av = check(files(root), sigdb, OnInfection.QUARANTINE)
    rec = av.run()
    assert av.quarantined == [weird]
    assert rec.details["infected"][0]["path"].endswith("caf\\xe9 [1]: *x?.com")


def test_old_signatures_are_a_warning(clean_tree: Path, sigdb: Path) -> None:
    old = (dt.datetime.now() - dt.timedelta(days=30)).timestamp()
    for f in sigdb.iterdir():
        os.utime(f, (old, old))
    rec = check(files(clean_tree), sigdb).run()
    assert rec.result is Result.WARNING
    assert rec.details["signatures"]["age_days"] == pytest.approx(30, abs=0.1)
    assert "30 days old" in rec.summary and "freshclam" in rec.summary
    # Within the configured age it passes.
    assert check(files(clean_tree), sigdb, max_age=40).run().result is Result.PASSED


def test_no_signatures(clean_tree: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-db"
    empty.mkdir()
    rec = check(files(clean_tree), empty).run()
    assert rec.result is Result.WARNING
    assert "no signature database" in rec.summary and "freshclam" in rec.hint
    assert check(files(clean_tree), empty, required=True).run().result is Result.FAILED


def test_missing_clamav_names_the_package(
    infected_tree: Path, sigdb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_without("clamscan", "clamd"))
    rec = check(files(infected_tree), sigdb).run()
    assert rec.result is Result.SKIPPED
    assert "ClamAV is not installed" in rec.summary
    assert "apt-get install clamav" in rec.summary
    assert not rec.escalate
    rec = check(files(infected_tree), sigdb, required=True).run()
    assert rec.result is Result.FAILED and rec.escalate
    assert "apt-get install clamav" in rec.summary


def test_no_clamd_and_no_clamscan_names_clamav_daemon(
    clean_tree: Path, sigdb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_without("clamscan", "clamd"))
    rec = check(files(clean_tree), sigdb, socket=str(tmp_path / "no.sock")).run()
    assert rec.result is Result.SKIPPED
    assert "did not answer" in rec.summary and "apt-get install clamav-daemon" in rec.summary


def test_unreadable_path_is_reported(tmp_path: Path, sigdb: Path) -> None:
    rec = check(files(tmp_path / "gone"), sigdb).run()
    assert rec.result is Result.WARNING
    assert rec.details["not_scanned"][0]["path"] == str(tmp_path / "gone")


# --- clamd ----------------------------------------------------------------------------------


def test_clamd_clean_and_infected(clamd: Clamd, infected_tree: Path) -> None:
    client = ClamdClient(clamd.socket)
    client.ping()
    assert client.version().startswith("ClamAV ")
    av = check(files(infected_tree), clamd.database, socket=clamd.socket)
    rec = av.run()
    assert rec.details["engine"] == "clamd"
    assert rec.result is Result.FAILED and av.blocks
    assert rec.details["files_scanned"] == 3
    assert [i["path"] for i in rec.details["infected"]] == [
        str(infected_tree / "scan" / "lampiran.com")
    ]
    # The database folder named in the plan gives the signatures' age.
    assert rec.details["signatures"]["age_days"] is not None
    (infected_tree / "scan" / "lampiran.com").unlink()
    rec = check(files(infected_tree), clamd.database, socket=clamd.socket).run()
    assert rec.result is Result.PASSED, rec.summary
    assert rec.details["engine"] == "clamd"


def test_clamd_scans_files_it_could_not_open(clamd: Clamd, infected_tree: Path) -> None:
    """The descriptor is passed, so clamd needs no permission on the file itself."""
    target = infected_tree / "scan" / "lampiran.com"
    os.chmod(target, 0o000)
    try:
        av = check(files(infected_tree), clamd.database, OnInfection.WARN, socket=clamd.socket)
        rec = av.run()
    finally:
        os.chmod(target, 0o600)
    if os.geteuid() != 0:
        assert rec.details["not_scanned"]  # we could not open it either: reported
    else:
        assert len(av.infected) == 1


def test_clamd_not_answering_falls_back_to_clamscan(
    infected_tree: Path, sigdb: Path, tmp_path: Path
) -> None:
    rec = check(files(infected_tree), sigdb, socket=str(tmp_path / "no.sock")).run()
    assert rec.details["engine"] == "clamscan"
    assert rec.result is Result.FAILED  # still blocked: the scan happened
    assert any("did not answer" in n for n in rec.details["notes"])
    (infected_tree / "scan" / "lampiran.com").unlink()
    rec = check(files(infected_tree), sigdb, socket=str(tmp_path / "no.sock")).run()
    assert rec.result is Result.WARNING and "clamscan instead" in rec.summary


# --- pieces ---------------------------------------------------------------------------------


def test_parse_reply_and_version_date() -> None:
    assert parse_reply("fd[11]: OK") == ("OK", "")
    assert parse_reply("/a: b: Eicar FOUND") == ("FOUND", "Eicar")
    assert parse_reply("/x: Access denied ERROR") == ("ERROR", "Access denied")
    assert version_date("ClamAV 1.4.6") is None
    when = version_date("ClamAV 1.4.6/27459/Fri Nov 15 09:39:00 2024")
    assert when is not None and (when.year, when.month, when.day) == (2024, 11, 15)


def test_signature_date_from_cvd_header(tmp_path: Path) -> None:
    stime = 1_731_663_547
    header = f"ClamAV-VDB:15 Nov 2024 09-39 +0000:27459:2068484:90:x:y:raynman:{stime}"
    (tmp_path / "daily.cvd").write_bytes(header.encode().ljust(512, b" ") + b"data")
    when, how = signature_date(str(tmp_path))
    assert when == dt.datetime.fromtimestamp(stime, dt.UTC)
    assert "daily.cvd" in how
    assert signature_date(str(tmp_path / "nothing")) == (None, "")


def test_files_to_scan_walks_like_the_archiver(tmp_path: Path) -> None:
    root = make_tree(
        tmp_path / "t",
        {"a.txt": "a", "skip.tmp": "x", "cache": {"c": "c"}, "d": {"b.txt": "b"}},
    )
    os.symlink(root / "a.txt", root / "link")
    walk_ = files_to_scan(files(root, exclude=("*.tmp", str(root / "cache"))))
    assert sorted(walk_.files) == [os.fsencode(root / "a.txt"), os.fsencode(root / "d/b.txt")]


def test_leave_out_keeps_infected_files_out_of_the_snapshot(tmp_path: Path) -> None:
    """Quarantine through the real archiver: exact names, even with glob characters."""
    root = make_tree(
        tmp_path / "src",
        {"a*.txt": "bad", "ab.txt": "good", "x[1].txt": "bad", "x1.txt": "good", "q?": "bad"},
    )
    (tmp_path / "single.com").write_bytes(EICAR)
    bad = [os.fsencode(root / n) for n in ("a*.txt", "x[1].txt", "q?")]
    bad.append(os.fsencode(tmp_path / "single.com"))
    spec = leave_out(
        BackupSpec(paths=[str(root), str(tmp_path / "single.com")], excludes=["*.nope"]), bad
    )
    assert spec.paths == [str(root)]
    assert spec.excludes[0] == "*.nope"
    assert exclude_pattern(b"/a*b?[c]") == "/a[*]b[?][[]c]"
    repo = Repository.init(LocalBackend(str(tmp_path / "repo")), TEST_PASSWORD, TEST_KDF)
    try:
        snap, _summary = Archiver(repo).backup(
            BackupOptions(paths=spec.paths, excludes=spec.excludes)
        )
        names = {os.path.basename(p).decode() for p, _n in walk(repo, snap.tree)}
    finally:
        repo.close()
    assert {"ab.txt", "x1.txt"} <= names
    assert not names & {"a*.txt", "x[1].txt", "q?", "single.com"}
