"""The server's settings from the environment (``*_FILE`` variants for secrets).

Read once by :mod:`cadang.server.settings`; kept apart so the rules are testable without
Django. The catalog defaults to SQLite in the state directory; ``CADANG_SERVER_DATABASE``
(or ``cadang serve --database``) takes a ``postgresql://`` or ``sqlite:///`` URL.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cadang.plan.state import state_dir

DATABASE_ENV = "CADANG_SERVER_DATABASE"
SECRET_ENV = "CADANG_SECRET_KEY"  # noqa: S105 (a variable name)
TIME_ZONE_ENV = "CADANG_TIME_ZONE"

# The three Indonesian time zones and the abbreviation every Indonesian reads.
ZONE_NAMES = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


def env(name: str, default: str = "") -> str:
    """``NAME`` from the environment, or the contents of the file named by ``NAME_FILE``."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(name + "_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "ya"}


def server_dir() -> Path:
    """The server's folder in the state directory (catalog, secret key), created 0700."""
    path = state_dir() / "server"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def database_url() -> str:
    url = env(DATABASE_ENV)
    if url:
        return url
    return "sqlite:///" + str(server_dir() / "catalog.sqlite3")


def secret_key() -> str:
    """The configured key, or one generated once and kept in the state directory."""
    key = env(SECRET_ENV)
    if key:
        return key
    path = server_dir() / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key)
    return key


def zone_abbreviation(zone: str) -> str:
    return ZONE_NAMES.get(zone, zone)
