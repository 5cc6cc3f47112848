"""From a source's configuration in the plan to the object that backs it up and restores it."""

from __future__ import annotations

from cadang.sources.base import Source
from cadang.sources.command import CommandSourceImpl
from cadang.sources.config import (
    CommandSource,
    FilesSource,
    MariaDBSource,
    OracleSource,
    PostgresSource,
    SourceConfig,
    SQLiteSource,
)
from cadang.sources.files import FilesSourceImpl
from cadang.sources.mariadb import MariaDBSourceImpl
from cadang.sources.oracle import OracleSourceImpl
from cadang.sources.postgres import PostgresSQLSource
from cadang.sources.sqlite import SQLiteSourceImpl


def make_source(config: SourceConfig) -> Source:
    """The Source for one ``sources:`` entry of an application (no connection is made)."""
    if isinstance(config, FilesSource):
        return FilesSourceImpl(config)
    if isinstance(config, PostgresSource):
        return PostgresSQLSource(config)
    if isinstance(config, MariaDBSource):
        return MariaDBSourceImpl(config)
    if isinstance(config, SQLiteSource):
        return SQLiteSourceImpl(config)
    if isinstance(config, OracleSource):
        return OracleSourceImpl(config)
    if isinstance(config, CommandSource):
        return CommandSourceImpl(config)
    raise TypeError(f"unknown source config {type(config).__name__}")  # pragma: no cover
