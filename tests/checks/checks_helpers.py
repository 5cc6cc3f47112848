"""ClamAV for the checks' tests: the EICAR test file, a signature database that detects it,
and a real clamd on a private socket.

There is no internet for signature downloads, so the tests write their own database: one
MD5 signature (``.hdb``) of the 68-byte EICAR test string.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_clamav, require_clamd

# The standard anti-virus test file (not a virus; every scanner knows it).
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
assert len(EICAR) == 68
SIGNATURE = "Cadang-Test-EICAR"


def write_signatures(directory: Path) -> Path:
    """A signature database (one .hdb) that detects EICAR; returns the folder."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cadang-test.hdb").write_text(
        f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:{SIGNATURE}\n"
    )
    return directory


@pytest.fixture
def sigdb(tmp_path: Path) -> Path:
    require_clamav()
    return write_signatures(tmp_path / "clamav-db")


class Clamd:
    """A clamd started for one test: its own config, socket and database."""

    def __init__(self, root: Path, database: Path) -> None:
        self.root = root
        self.socket = str(root / "clamd.sock")
        self.database = database
        conf = root / "clamd.conf"
        conf.write_text(
            f"LocalSocket {self.socket}\n"
            f"DatabaseDirectory {database}\n"
            "Foreground yes\n"
            f"LogFile {root / 'clamd.log'}\n"
            f"TemporaryDirectory {root}\n"
        )
        clamd = shutil.which("clamd") or "/usr/sbin/clamd"
        self.proc = subprocess.Popen(
            [clamd, f"--config-file={conf}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                self.stop()
                raise RuntimeError(f"clamd did not start: {err.strip()[-500:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def clamd(sigdb: Path) -> Iterator[Clamd]:
    """A real clamd on a unix socket (in a short /tmp folder: socket paths are limited to
    108 bytes, too short for some pytest folders)."""
    require_clamd()
    root = Path(tempfile.mkdtemp(prefix="cadang-clamd-"))
    try:
        try:
            daemon = Clamd(root, sigdb)
        except RuntimeError as exc:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"{exc} (CI=true: clamd must start)")
            pytest.skip(str(exc))
        try:
            yield daemon
        finally:
            daemon.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def path_without(*commands: str) -> str:
    """PATH without the folders that hold any of ``commands`` (ClamAV really absent)."""
    keep = [
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder and not any(os.path.exists(os.path.join(folder, c)) for c in commands)
    ]
    return os.pathsep.join(keep)
