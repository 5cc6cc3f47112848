"""make_source, the shared helpers, and the config models re-exported by the plan."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from cadang.errors import SourceError, UsageError
from cadang.sources.base import RestoreTarget, Source
from cadang.sources.command import CommandSourceImpl
from cadang.sources.common import check_new_names, read_secret, restore_names
from cadang.sources.config import SourceConfig
from cadang.sources.files import FilesSourceImpl
from cadang.sources.mariadb import MariaDBSourceImpl
from cadang.sources.oracle import OracleSourceImpl
from cadang.sources.postgres import PostgresSQLSource
from cadang.sources.registry import make_source
from cadang.sources.sqlite import SQLiteSourceImpl

CONFIGS: list[tuple[dict[str, object], type, str]] = [
    ({"type": "files", "name": "code", "paths": ["/srv/app"]}, FilesSourceImpl, "files"),
    ({"type": "postgres", "name": "db"}, PostgresSQLSource, "postgres"),
    ({"type": "mariadb", "name": "db"}, MariaDBSourceImpl, "mariadb"),
    ({"type": "mysql", "name": "db"}, MariaDBSourceImpl, "mysql"),
    ({"type": "sqlite", "name": "db", "path": "/srv/app/db.sqlite"}, SQLiteSourceImpl, "sqlite"),
    (
        {"type": "oracle", "name": "db", "connect": "hr@orcl", "schemas": ["HR"]},
        OracleSourceImpl,
        "oracle",
    ),
    ({"type": "command", "name": "ldap", "backup": ["slapcat"]}, CommandSourceImpl, "command"),
]


@pytest.mark.parametrize(("raw", "cls", "kind"), CONFIGS)
def test_make_source_dispatches_on_the_type(raw: dict[str, object], cls: type, kind: str) -> None:
    config: SourceConfig = TypeAdapter(SourceConfig).validate_python(raw)
    source: Source = make_source(config)
    assert isinstance(source, cls)
    assert source.kind == kind and source.name == raw["name"]
    assert source.describe() and all(isinstance(line, str) for line in source.describe())
    assert all(t.command for t in source.required_tools())


def test_plan_model_reexports_the_source_configs() -> None:
    from cadang.plan import model
    from cadang.sources import config

    for name in ("FilesSource", "PostgresSource", "MariaDBSource", "SQLiteSource", "OracleSource",
                 "CommandSource", "SourceConfig", "Strict", "Name"):  # fmt: skip
        assert getattr(model, name) is getattr(config, name)


def test_required_tools_name_their_packages() -> None:
    pg = make_source(TypeAdapter(SourceConfig).validate_python({"type": "postgres", "name": "d"}))
    assert {(t.command, t.package) for t in pg.required_tools()} == {
        ("pg_dump", "postgresql-client"), ("pg_restore", "postgresql-client"),
        ("psql", "postgresql-client"), ("pg_dumpall", "postgresql-client"),
    }  # fmt: skip


def test_restore_names() -> None:
    now = dt.datetime(2024, 6, 1, 8, 30, 5)
    assert restore_names(["siak"], RestoreTarget(), now) == {
        "siak": "siak_restored_20240601_083005"
    }
    assert restore_names(["siak"], RestoreTarget(into="uji")) == {"siak": "uji"}
    assert restore_names(["a", "b"], RestoreTarget(into="{name}_x")) == {"a": "a_x", "b": "b_x"}
    assert restore_names(["a", "b"], RestoreTarget(in_place=True)) == {"a": "a", "b": "b"}
    long = "x" * 63
    assert len(restore_names([long], RestoreTarget(), now)[long]) == 63
    with pytest.raises(UsageError, match="several databases"):
        restore_names(["a", "b"], RestoreTarget(into="one"))
    with pytest.raises(UsageError, match="not both"):
        restore_names(["a"], RestoreTarget(into="x", in_place=True))
    with pytest.raises(UsageError, match="overwrite"):
        check_new_names({"siak": "siak"})


def test_read_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "pw"
    f.write_text("kata sandi\n")
    assert read_secret(str(f), None) == "kata sandi"
    assert read_secret(None, None) is None
    with pytest.raises(SourceError, match="cannot read the password file"):
        read_secret(str(tmp_path / "missing"), None)
    monkeypatch.setenv("CADANG_T_PW", "x")
    assert read_secret(None, "CADANG_T_PW") == "x"
