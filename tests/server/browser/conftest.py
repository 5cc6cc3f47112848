"""The real server for the browser tests: ``cadang serve`` with its scheduler, in a subprocess.

One server per module (starting it, migrating the catalog and creating the people takes a
few seconds): a fresh state directory and SQLite catalog, a sample plan whose applications
back up real folders into a real repository, people made with ``cadang admin create-user``,
and Chromium (Debian's, through Playwright) to click through the pages.

Without /usr/bin/chromium the tests are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.browser.browser_support import PASSWORD, Server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "docs" / "screenshots"

# (user name, role, unit, language): the rest English so the tests read English strings;
# kabid-id is made without --language, so it has the default (Indonesian).
PEOPLE = [
    ("adb", "operator", "", "en"),
    ("kasi", "verifier", "", "en"),
    ("kabid", "approver", "", "en"),
    ("kabid-id", "approver", "", ""),
    ("opd-bkpsdm", "unit", "BKPSDM", "en"),
]


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + ": required under CI=true")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cadang(*args: str) -> list[str]:
    return [sys.executable, "-m", "cadang", *args]


# ``cadang run`` as if it were ``when``: the clock starts there and ticks (time-machine).
PAST_RUN = (
    "import sys, time_machine; time_machine.travel(sys.argv[1], tick=True).start(); "
    "from cadang.cli.main import main; sys.exit(main(sys.argv[2:]))"
)


def last_month_run_time() -> dt.datetime:
    """The 15th of last month, 01:00 in the office's zone (Asia/Jakarta by default)."""
    zone = ZoneInfo("Asia/Jakarta")
    first = dt.datetime.now(zone).date().replace(day=1)
    day = (first - dt.timedelta(days=20)).replace(day=15)
    return dt.datetime.combine(day, dt.time(1, 0), zone)


def write_plan(root: Path) -> Path:
    """Two applications of two owners (BKPSDM, Sekretariat), files sources, one repository."""
    for name, text in (("simpeg", "data pegawai\n"), ("arsip", "surat masuk\n")):
        folder = root / "data" / name
        folder.mkdir(parents=True)
        for i in range(5):
            (folder / f"berkas-{i}.txt").write_text(text * (i + 1))
    (root / "passphrase").write_text("browser-test-passphrase\n")
    plan = root / "cadang.yaml"
    plan.write_text(
        f"""organization:
  name: Dinas Uji Peramban
  code: uji
repositories:
  main:
    path: {root / "repo"}
    password_file: {root / "passphrase"}
applications:
  - name: simpeg
    owner: BKPSDM
    priority: daily
    sources:
      - name: berkas
        type: files
        paths: [{root / "data" / "simpeg"}]
  - name: arsip
    owner: Sekretariat
    priority: weekly
    classification: confidential
    sources:
      - name: berkas
        type: files
        paths: [{root / "data" / "arsip"}]
"""
    )
    return plan


def _wait_for(url: str, proc: subprocess.Popen[bytes], server_log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"cadang serve exited with {proc.returncode}:\n"
                + server_log.read_text(errors="replace")[-4000:]
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"cadang serve did not answer {url} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_chromium()
    root = tmp_path_factory.mktemp("browser-server")
    plan = write_plan(root)
    env = dict(os.environ)
    for name in list(env):  # nothing of the developer's own setup leaks in
        if name.startswith(("CADANG_", "DJANGO_")):
            del env[name]
    env.update(
        CADANG_STATE_DIR=str(root / "state"),
        CADANG_SECRET_KEY="browser-tests-only-not-secret",
        CADANG_SERVER_DATABASE=f"sqlite:///{root / 'catalog.sqlite3'}",
        CADANG_USER_PASSWORD=PASSWORD,
        CADANG_KDF_MEMORY_KIB="8192",  # the repository's key: cheap to open in tests
        CADANG_LANG="en",
    )
    subprocess.run(
        cadang("init", "--repo", str(root / "repo"), "--password-file", str(root / "passphrase")),
        env=env,
        check=True,
        capture_output=True,
    )

    def create(username: str, role: str, unit: str, language: str) -> subprocess.Popen[bytes]:
        args = ["admin", "create-user", username, "--role", role]
        if language:
            args += ["--language", language]
        args += ["--name", f"{username.title()} Test"]
        if unit:
            args += ["--unit", unit]
        return subprocess.Popen(
            cadang(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )

    # Last month's backup, made by the command line: the server imports it with the plan
    # (a run and its form), so the Kabid has a finished month to approve.
    past = last_month_run_time()
    subprocess.run(
        [
            sys.executable,
            "-c",
            PAST_RUN,
            past.isoformat(),
            "-c",
            str(plan),
            "run",
            "--app",
            "simpeg",
        ],
        env=env,
        check=True,
        capture_output=True,
    )

    # The first creates (migrates) the catalog; the others then run side by side.
    procs = [create(*PEOPLE[0])]
    procs[0].wait()
    procs += [create(*p) for p in PEOPLE[1:]]
    for p, person in zip(procs, PEOPLE, strict=True):
        out = p.communicate()[0].decode(errors="replace")
        assert p.returncode == 0, f"create-user {person[0]} failed:\n{out}"

    port = free_port()
    log = root / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cadang("serve", "--plan", str(plan), "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url + "/accounts/login/", proc, log, timeout=60)
        yield Server(url=url, root=root, env=env, log=log, last_month=past.date())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page for each test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def screenshot(tmp_path: Path) -> Any:
    """screenshot(page, "name") -> a full-page PNG under tmp_path (and docs/screenshots/
    when CADANG_SCREENSHOTS=1, for the documentation)."""

    def take(pg: Any, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000, "the screenshot is empty"
        if os.environ.get("CADANG_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / path.name)
        return path

    return take
