"""Configuration of the sources of an application, as written in the plan file.

These models live with the sources (not the plan) so that :mod:`cadang.sources` can build
sources from them without importing the layer above; :mod:`cadang.plan.model` re-exports
them. Unknown keys are errors, and secrets are references only (``password_file`` or
``password_env``), never the password itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Secret(Strict):
    password_file: str | None = None
    password_env: str | None = None


class FilesSource(Strict):
    type: Literal["files"]
    name: Name
    paths: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)
    one_file_system: bool = False


class PostgresSource(Secret):
    type: Literal["postgres"]
    name: Name
    host: str = "127.0.0.1"
    port: int = Field(5432, ge=1, le=65535)
    user: str = "postgres"
    databases: list[str] | Literal["all"] = "all"
    globals: bool = Field(True, description="Also dump roles and tablespaces (pg_dumpall -g).")
    amcheck: bool = Field(
        False,
        description="Before each backup, check every B-tree index with the amcheck extension.",
    )


class MariaDBSource(Secret):
    type: Literal["mariadb", "mysql"]
    name: Name
    host: str = "127.0.0.1"
    port: int = Field(3306, ge=1, le=65535)
    user: str = "root"
    databases: list[str] | Literal["all"] = "all"
    option_file: str | None = Field(None, description="A my.cnf with the credentials.")


class SQLiteSource(Strict):
    type: Literal["sqlite"]
    name: Name
    path: str = Field(min_length=1)


class OracleSource(Secret):
    type: Literal["oracle"]
    name: Name
    connect: str = Field(description="user@service (the password comes from the secret).")
    schemas: list[str] = Field(min_length=1)
    tool: Literal["datapump", "legacy"] = "datapump"
    export_command: list[str] | None = Field(
        None, description="Override the export command; {connect}, {schemas}, {file} expand."
    )
    import_command: list[str] | None = Field(
        None, description="Override the import command; same fields, {into} for a new schema."
    )
    pipe_dir: str | None = Field(
        None,
        description="Folder for the named pipe the export writes to; for Data Pump, the path "
        "of the Oracle DIRECTORY object CADANG_PIPE. Default: a private temporary folder.",
    )


class CommandSource(Strict):
    type: Literal["command"]
    name: Name
    backup: list[str] = Field(min_length=1, description="Its stdout is the backup.")
    restore: list[str] | None = Field(None, description="Takes the backup on stdin.")
    drop: list[str] | None = Field(
        None,
        description="Removes a copy that restore made under a new name ({into} expands); "
        "with it and {into} in restore, a restore test can run after each backup.",
    )
    filename: str | None = Field(None, description="Name of the file in the snapshot.")


SourceConfig = Annotated[
    FilesSource | PostgresSource | MariaDBSource | SQLiteSource | OracleSource | CommandSource,
    Field(discriminator="type"),
]
