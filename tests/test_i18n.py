"""Every user-facing string has an Indonesian translation, and the compiled catalog is fresh."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cadang import i18n
from cadang.backends.local import LocalBackend
from cadang.errors import RepositoryNotFoundError
from cadang.repo.repository import Repository

ROOT = Path(__file__).resolve().parent.parent


def _i18n_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_is_translated_and_compiled() -> None:
    problems = _i18n_script().problems()
    assert problems == [], "\n".join(problems[:20])


def _run(lang: str | None, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "CADANG_LANG"}
    if lang:
        env["CADANG_LANG"] = lang
    proc = subprocess.run(
        [sys.executable, "-m", "cadang", "snapshots", "--repo", str(tmp_path / "none")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 10
    return proc.stderr


def test_indonesian_is_the_default_and_english_is_selectable(tmp_path: Path) -> None:
    default = _run(None, tmp_path)
    english = _run("en", tmp_path)
    assert "there is no repository at" in english
    assert "there is no repository at" not in default
    assert str(tmp_path / "none") in default
    assert _run("id", tmp_path) == default


def test_engine_errors_follow_the_active_language(tmp_path: Path) -> None:
    """An engine error is worded in the language active when it is raised."""
    empty = tmp_path / "empty"
    empty.mkdir()
    try:
        i18n.activate("id")
        with pytest.raises(RepositoryNotFoundError) as indonesian:
            Repository.read_config(LocalBackend(str(empty)))
        i18n.activate("en")
        with pytest.raises(RepositoryNotFoundError) as english:
            Repository.read_config(LocalBackend(str(empty)))
    finally:
        i18n.activate("en")
    assert english.value.message == f"there is no repository at {empty}"
    assert english.value.hint == "check the path, or create one with 'cadang init'"
    assert "there is no repository" not in indonesian.value.message
    assert str(empty) in indonesian.value.message
    assert indonesian.value.message.startswith("tidak ada repositori")
    assert indonesian.value.hint is not None and "cadang init" in indonesian.value.hint
    assert indonesian.value.hint != english.value.hint
