"""Oracle source, driven by stand-in exp/imp/expdp/impdp scripts (no Oracle runs here).

The stand-ins behave like the real tools as far as Cadang can tell: they take
``key=value`` arguments and a ``parfile``, write the export to ``file=`` (or, for Data Pump,
to ``dumpfile=`` inside the DIRECTORY folder) and read it back on import. Each "schema" is a
file in a folder; every call is logged, with whether the file it was given is a named pipe.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from sources_helpers import backup, private_tmp, reader, snapshot_count, watch_disk

from cadang.errors import CommandFailedError, RestoreError
from cadang.repo.repository import Repository
from cadang.sources.base import RestoreTarget
from cadang.sources.config import OracleSource
from cadang.sources.oracle import OracleSourceImpl, expand, template_fields, userid

STANDIN = r"""
import json, os, stat, sys
tool = os.path.basename(sys.argv[0])
args = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
entry = {"tool": tool, "argv": sys.argv[1:]}
if "parfile" in args:
    entry["parfile"] = open(args["parfile"]).read()
    entry["parfile_mode"] = oct(stat.S_IMODE(os.stat(args["parfile"]).st_mode))
if tool in ("exp", "imp"):
    path = args["file"]
else:
    path = os.path.join(os.environ["STANDIN_DIRECTORY"], args["dumpfile"])
if path != "-":
    entry["is_fifo"] = stat.S_ISFIFO(os.stat(path).st_mode)
with open(os.environ["STANDIN_LOG"], "a") as log:
    log.write(json.dumps(entry) + "\n")
db = os.environ["STANDIN_DB"]
fail = os.environ.get("STANDIN_FAIL", "")
banner = sys.stderr if args.get("file") == "-" else sys.stdout
print(f"{tool}: Release 19.0.0.0.0 - Production (stand-in)", file=banner, flush=True)
if fail == "early":
    sys.stderr.write("ORA-12541: TNS:no listener\n")
    sys.exit(1)
if tool in ("exp", "expdp"):
    schemas = (args.get("owner") or args["schemas"]).split(",")
    out = sys.stdout.buffer if path == "-" else open(path, "wb")
    for s in schemas:
        data = open(os.path.join(db, s), "rb").read()
        out.write(b"SCHEMA %s %d\n" % (s.encode(), len(data)))
        if fail == "mid":
            out.write(data[: len(data) // 2])
            out.flush()
            sys.stderr.write("EXP-00056: ORACLE error 1555 encountered\n")
            sys.exit(3)
        out.write(data)
    out.close()
else:
    src = sys.stdin.buffer if path == "-" else open(path, "rb")
    if "touser" in args:
        mapping = dict(zip(args["fromuser"].split(","), args["touser"].split(",")))
    else:
        mapping = {s: s for s in args["schemas"].split(",")}
        for pair in filter(None, args.get("remap_schema", "").split(",")):
            a, b = pair.split(":")
            mapping[a] = b
    while True:
        header = src.readline()
        if not header:
            break
        _, name, size = header.decode().split()
        data = src.read(int(size))
        if len(data) != int(size):
            sys.stderr.write("IMP-00009: abnormal end of export file\n")
            sys.exit(1)
        open(os.path.join(db, mapping[name]), "wb").write(data)
"""


@pytest.fixture
def oracle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stand-in tools first on PATH; returns the folder that holds the "schemas"."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("exp", "imp", "expdp", "impdp"):
        script = bin_dir / tool
        script.write_text(f"#!{sys.executable}\n{STANDIN}")
        script.chmod(0o755)
    db = tmp_path / "oracle"
    db.mkdir()
    (db / "HR").write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # far more than a pipe holds
    (db / "SIAK").write_bytes("Ni Luh Putu 🌴\n".encode() * 1000)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_DB", str(db))
    monkeypatch.setenv("STANDIN_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("ORACLE_TEST_PASSWORD", "rahasia")
    return db


def calls(tmp_path: Path) -> list[dict[str, object]]:
    lines = (tmp_path / "calls.jsonl").read_text().splitlines()
    return [json.loads(ln) for ln in lines]


def source(**kw: object) -> OracleSourceImpl:
    cfg = {"type": "oracle", "name": "kependudukan", "connect": "hr@orcl", "schemas": ["HR"],
           "tool": "legacy", "password_env": "ORACLE_TEST_PASSWORD", **kw}  # fmt: skip
    return OracleSourceImpl(OracleSource.model_validate(cfg))


def test_legacy_export_streams_through_a_pipe_and_imports_into_a_new_schema(
    repo: Repository, oracle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = private_tmp(monkeypatch, tmp_path)
    src = source()
    with watch_disk(tmp) as watch:
        snap = backup(repo, src)
    # The only regular file ever there is the small parameter file: the dump went through
    # the pipe. The pipe, the parameter file and the private folder are gone afterwards.
    assert [f for f in watch.new_files() if not f.endswith("/cadang.par")] == []
    assert list(tmp.iterdir()) == []

    r = reader(repo, snap)
    assert r.names() == ["HR.dmp"]
    hr = (oracle / "HR").read_bytes()
    with r.open("HR.dmp") as f:
        assert f.read() == b"SCHEMA HR %d\n" % len(hr) + hr
    assert snap.summary["facts"]["HR.dmp"] == {"schemas": ["HR"], "tool": "legacy"}

    (call,) = calls(tmp_path)
    argv = call["argv"]
    assert isinstance(argv, list)
    assert call["tool"] == "exp" and call["is_fifo"] is True
    assert "owner=HR" in argv and "consistent=y" in argv
    assert call["parfile"] == 'userid=hr/"rahasia"@orcl\n' and call["parfile_mode"] == "0o600"
    assert not any("rahasia" in a for a in argv)  # never on the command line

    outcome = src.restore(r, RestoreTarget(into="HR_UJI"))
    assert outcome.restored == ["HR_UJI"]
    assert (oracle / "HR_UJI").read_bytes() == hr
    imp = calls(tmp_path)[-1]
    imp_argv = imp["argv"]
    assert isinstance(imp_argv, list)
    assert imp["tool"] == "imp" and imp["is_fifo"] is True
    assert "fromuser=HR" in imp_argv and "touser=HR_UJI" in imp_argv

    (oracle / "HR").write_bytes(b"damaged")
    src.restore(r, RestoreTarget(in_place=True))
    assert (oracle / "HR").read_bytes() == hr
    assert list(tmp.iterdir()) == []


def test_datapump_uses_the_pipe_folder_and_remaps_schemas(
    repo: Repository, oracle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipes = tmp_path / "pipes"  # where the DIRECTORY object CADANG_PIPE points
    pipes.mkdir()
    monkeypatch.setenv("STANDIN_DIRECTORY", str(pipes))
    src = source(tool="datapump", schemas=["HR", "SIAK"], pipe_dir=str(pipes))
    snap = backup(repo, src)
    r = reader(repo, snap)
    assert r.names() == ["kependudukan.dmp"]  # several schemas: one export, named by source
    exp = calls(tmp_path)[0]
    argv = exp["argv"]
    assert isinstance(argv, list)
    assert exp["tool"] == "expdp" and exp["is_fifo"] is True
    assert "schemas=HR,SIAK" in argv and "directory=CADANG_PIPE" in argv
    assert any(a.startswith("dumpfile=cadang-") and a.endswith("-kependudukan.dmp") for a in argv)
    assert list(pipes.iterdir()) == []

    outcome = src.restore(r, RestoreTarget(into="{name}_UJI"))
    assert outcome.restored == ["HR_UJI", "SIAK_UJI"]
    imp = calls(tmp_path)[-1]
    assert imp["tool"] == "impdp"
    assert "remap_schema=HR:HR_UJI,SIAK:SIAK_UJI" in imp["argv"]  # type: ignore[operator]
    assert (oracle / "SIAK_UJI").read_bytes() == (oracle / "SIAK").read_bytes()
    assert (oracle / "HR_UJI").read_bytes() == (oracle / "HR").read_bytes()


@pytest.mark.parametrize(("fail", "reason"), [("early", "ORA-12541"), ("mid", "EXP-00056")])
def test_a_failed_export_writes_no_snapshot(
    repo: Repository,
    oracle: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fail: str,
    reason: str,
) -> None:
    """Early: the tool dies before it opens the pipe — Cadang must not wait forever."""
    tmp = private_tmp(monkeypatch, tmp_path)
    monkeypatch.setenv("STANDIN_FAIL", fail)
    with pytest.raises(CommandFailedError, match=reason) as err:
        backup(repo, source())
    assert "no snapshot was written" in err.value.message
    assert "rahasia" not in err.value.message
    assert snapshot_count(repo) == 0
    assert list(tmp.iterdir()) == []


def test_a_failed_import_is_reported(
    repo: Repository, oracle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = source()
    snap = backup(repo, src)
    monkeypatch.setenv("STANDIN_FAIL", "early")
    with pytest.raises(RestoreError, match="ORA-12541"):
        src.restore(reader(repo, snap), RestoreTarget(into="HR_UJI"))
    assert not (oracle / "HR_UJI").exists()


def test_commands_without_a_file_use_standard_output_and_input(
    repo: Repository, oracle: Path, tmp_path: Path
) -> None:
    src = source(
        export_command=["exp", "parfile={parfile}", "owner={schemas}", "file=-"],
        import_command=[
            "imp",
            "parfile={parfile}",
            "fromuser={schemas}",
            "touser={into}",
            "file=-",
        ],
    )
    snap = backup(repo, src)
    src.restore(reader(repo, snap), RestoreTarget(into="HR_STDIN"))
    assert (oracle / "HR_STDIN").read_bytes() == (oracle / "HR").read_bytes()
    assert all(c["parfile"] == 'userid=hr/"rahasia"@orcl\n' for c in calls(tmp_path))


def test_template_fields() -> None:
    cfg = OracleSource(type="oracle", name="x", connect="hr@orcl", schemas=["HR", "PAY"])
    fields = template_fields(cfg, "pw", pipe="/run/p/x.dmp", mapping={"HR": "H2", "PAY": "P2"})
    assert expand(["u={connect}", "{schemas}>{into}", "{remap}", "{file_name}", "{other}"], fields) == [
        'u=hr/"pw"@orcl', "HR,PAY>H2,P2", "HR:H2,PAY:P2", "x.dmp", "{other}",
    ]  # fmt: skip
    assert userid("/@wallet_alias", None) == "/@wallet_alias"
    assert userid("system", "pw") == 'system/"pw"'
    src = OracleSourceImpl(cfg)
    assert [t.command for t in src.required_tools()] == ["expdp", "impdp"]
    assert "PIPE" in src.describe()[0]


def test_pipe_is_a_fifo_not_a_file(
    oracle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the export runs, what it writes to is a named pipe in a private folder."""
    tmp = private_tmp(monkeypatch, tmp_path)
    spec = source().backup_spec()
    (stream,) = spec.streams
    f = stream.open()
    try:
        (folder,) = list(tmp.iterdir())
        assert oct(stat.S_IMODE(folder.stat().st_mode)) == oct(0o700)
        pipe = next(p for p in folder.iterdir() if p.name.endswith("HR.dmp"))
        assert stat.S_ISFIFO(pipe.stat().st_mode)
        assert len(f.read()) > 3 * 1024 * 1024
        stream.complete()
    finally:
        stream.close()
    assert list(tmp.iterdir()) == []
