"""The server's pages under load: a year of 200 applications' backups in the catalog, wrk.

Builds a fresh catalog (bench/server_catalog.py: 200 applications, a run a day for each
over a year with its source results, a Backup Execution Form per run with its steps,
notifications, the audit log), starts ``cadang serve --no-scheduler`` (waitress) on a free
loopback port, logs in through the log-in page once per role, then runs wrk against each
page with that session's cookie and records the median latency and requests per second.
It also counts each page's SQL queries (Django's test client in this process), which is
where a slow page's reason usually shows.

    python bench/server.py [--apps 200] [--days 365] [--duration 10s] [--json FILE]
    python bench/server.py --database postgresql://postgres@127.0.0.1:5432/cadang_bench
    python bench/server.py --work /tmp/cadang-bench --reuse      # same catalog again

wrk comes from the Debian package ``wrk``. The target (issue 5): every page under 200 ms
at the median with wrk -t2 -c8.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
TARGET_MS = 200.0


@dataclass
class Page:
    label: str
    role: str  # user name of bench/server_catalog.py's people
    path: str


@dataclass
class Result:
    label: str
    role: str
    path: str
    status: int
    queries: int
    single_ms: float
    median_ms: float
    p90_ms: float
    p99_ms: float
    requests_per_s: float
    non_2xx: int
    timeouts: int
    errors: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cadang_cmd() -> list[str]:
    return [sys.executable, "-m", "cadang"]


def real_run_template(work: Path, env: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON of a real ``cadang run`` (report, checklist) of a small files application."""
    t = work / "template"
    shutil.rmtree(t, ignore_errors=True)
    (t / "data").mkdir(parents=True)
    for i in range(20):
        (t / "data" / f"berkas-{i}.txt").write_text(f"isi berkas {i}\n" * 50)
    (t / "pass").write_text("bench-passphrase\n")
    (t / "cadang.yaml").write_text(
        "organization: {name: Dinas Kominfo (bench), code: kominfo}\n"
        "repositories:\n  main: {path: repo, password_file: pass}\n"
        "state_dir: state\n"
        "applications:\n"
        "  - name: template\n    owner: Diskominfo\n    priority: daily\n"
        "    sources:\n      - {name: code, type: files, paths: [data]}\n"
    )
    e = dict(env, CADANG_KDF_MEMORY_KIB="8192")
    e.pop("CADANG_STATE_DIR", None)
    subprocess.run(
        [*cadang_cmd(), "init", "--repo", str(t / "repo"), "--password-file", str(t / "pass")],
        env=e,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*cadang_cmd(), "-c", str(t / "cadang.yaml"), "run"], env=e, check=True, capture_output=True
    )
    report = json.loads(next((t / "state" / "runs").glob("*.json")).read_text())
    checklist = json.loads(next((t / "state" / "checks").glob("*.json")).read_text())
    return report, checklist


def fresh_postgres(url: str) -> None:
    """Drop and create the database named in ``url`` (the server must allow it)."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')


def wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer {url} in {timeout:.0f} s")


def log_in(base: str, username: str, password: str) -> str:
    """Log in through the page (CSRF and all); returns the session cookie's value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/accounts/login/") as r:
        html = r.read().decode()
    m = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert m, "no CSRF token on the log-in page"
    body = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": m.group(1)}
    ).encode()
    req = urllib.request.Request(base + "/accounts/login/", data=body)
    req.add_header("Referer", base + "/accounts/login/")
    with opener.open(req) as r:
        final = r.geturl()
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies or "/accounts/login/" in final:
        raise SystemExit(f"could not log in as {username}")
    return cookies["sessionid"]


def get(url: str, session: str) -> tuple[int, str, float]:
    req = urllib.request.Request(url, headers={"Cookie": f"sessionid={session}"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req) as r:
            r.read()
            return r.status, r.geturl(), (time.perf_counter() - start) * 1000
    except urllib.error.HTTPError as exc:
        return exc.code, url, (time.perf_counter() - start) * 1000


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(out: str) -> dict[str, float]:
    def latency(pct: str) -> float:
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(m.group(1)) * UNITS_MS[m.group(2)] if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    timeouts = re.search(r"Socket errors:.*timeout (\d+)", out)
    done = re.search(r"(\d+) requests in", out)
    return {
        "median_ms": latency("50"),
        "p90_ms": latency("90"),
        "p99_ms": latency("99"),
        "requests_per_s": float(rps.group(1)) if rps else 0.0,
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "timeouts": float(timeouts.group(1)) if timeouts else 0.0,
        "requests": float(done.group(1)) if done else 0.0,
    }


def wrk(
    url: str, session: str, duration: str, threads: int, connections: int
) -> tuple[dict[str, float], str]:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}",
        "--latency",
        "--timeout",
        "30s",  # a slow page is measured, not dropped as a time-out
        "-H",
        f"Cookie: sessionid={session}",
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out), out


def drain(base: str, limit_s: float = 180.0) -> None:
    """Wait until the server has finished the requests wrk left behind (a slow page's
    queue would otherwise be measured as the next page's latency)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        start = time.perf_counter()
        with urllib.request.urlopen(base + "/accounts/login/") as r:
            r.read()
        if time.perf_counter() - start < 0.05:
            return
        time.sleep(0.5)


def pages() -> list[tuple[str, str, Callable[[], str]]]:
    """(label, user, path) of every page measured; resolved by URL name in this process."""
    from django.urls import reverse

    from cadang.server.approvals.models import BackupExecutionForm, FormState, MonthlyApproval
    from cadang.server.inventory.models import Application
    from cadang.server.runs.models import Run

    def app_detail() -> str:
        app = Application.objects.order_by("position").first()
        assert app is not None
        return reverse("inventory:detail", kwargs={"name": app.name})

    def run_detail() -> str:
        run = Run.objects.order_by("-queued_at").first()
        assert run is not None
        return reverse("runs:detail", kwargs={"pk": run.pk})

    def form_detail() -> str:
        form = BackupExecutionForm.objects.filter(state=FormState.AWAITING_VERIFICATION).first()
        assert form is not None
        return reverse("approvals:detail", kwargs={"pk": form.pk})

    def month_report() -> str:
        last = MonthlyApproval.objects.order_by("-month").first()
        assert last is not None
        return reverse(
            "approvals:month", kwargs={"year": last.month.year, "month": last.month.month}
        )

    return [
        # The floor: a page that reads nothing from the catalog but the session and the user.
        ("baseline (password page)", "adb1", lambda: reverse("accounts:password_change")),
        ("dashboard", "adb1", lambda: reverse("home")),
        ("inventory list", "admin", lambda: reverse("inventory:list")),
        ("application detail", "admin", app_detail),
        ("runs list", "adb1", lambda: reverse("runs:list")),
        ("run detail", "adb1", run_detail),
        ("forms list", "kasi", lambda: reverse("approvals:list")),
        ("form detail", "kasi", form_detail),
        ("inbox (Kasi)", "kasi", lambda: reverse("approvals:inbox")),
        ("month report", "kabid", month_report),
        ("audit log", "auditor", lambda: reverse("audit:list")),
        ("notifications", "kasi", lambda: reverse("notify:list")),
    ]


def count_queries(path: str, username: str) -> tuple[int, int, list[tuple[float, str]]]:
    """(status, SQL queries, the slowest three as (ms, SQL)) of one GET of ``path`` as
    ``username``, in this process: where a slow page's time goes."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username=username))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    timed = sorted(
        ((float(q["time"]) * 1000, q["sql"]) for q in ctx.captured_queries), reverse=True
    )
    return response.status_code, len(ctx.captured_queries), timed[:3]


def profile(path: str, username: str, top: int = 25) -> None:
    """cProfile of one GET of ``path`` as ``username`` in this process, the ``top``
    functions by cumulative time: where a slow page's Python time goes."""
    import cProfile
    import pstats

    from django.contrib.auth.models import User
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username=username))
    client.get(path)  # warm: templates compiled, translations loaded
    prof = cProfile.Profile()
    prof.enable()
    client.get(path)
    prof.disable()
    pstats.Stats(prof).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(
        top
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--apps", type=int, default=200)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--database", help="postgresql://... (dropped and created); default SQLite")
    ap.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true", help="keep the catalog already in --work")
    ap.add_argument("--server", choices=["waitress", "gunicorn"], default="waitress")
    ap.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    ap.add_argument("--threads", type=int, default=8, help="waitress threads / gunicorn threads")
    ap.add_argument("--duration", default="10s")
    ap.add_argument(
        "--repeat", type=int, default=1, help="wrk rounds per page; the median one counts"
    )
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated page labels to measure")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument(
        "--profile", metavar="LABEL", help="cProfile one request of this page, then stop"
    )
    ap.add_argument(
        "--show-queries", action="store_true", help="print each page's three slowest queries"
    )
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    work = args.work or Path(tempfile.mkdtemp(prefix="cadang-bench-server-"))
    work.mkdir(parents=True, exist_ok=True)
    state = work / "state"
    database = args.database or f"sqlite:///{work / 'catalog.sqlite3'}"
    env = dict(os.environ)
    env.update(
        CADANG_STATE_DIR=str(state),
        CADANG_SERVER_DATABASE=database,
        CADANG_SECRET_KEY="bench-only-not-secret",
        CADANG_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        # wrk sends the same session for minutes: keep it alive for the whole run.
        CADANG_SESSION_MINUTES="240",
    )
    os.environ.update(env)

    if not args.reuse:
        shutil.rmtree(state, ignore_errors=True)
        (work / "catalog.sqlite3").unlink(missing_ok=True)
        if database.startswith("postgres"):
            fresh_postgres(database)
        print("a real run's report, to copy ...", flush=True)
        report, checklist = real_run_template(work, env)

    from cadang.server.service import prepare

    prepare(database)
    if not args.reuse:
        from server_catalog import Template, build

        start = time.perf_counter()
        print(f"building the catalog: {args.apps} applications, {args.days} days ...", flush=True)
        counts = build(apps=args.apps, days=args.days, template=Template(report, checklist))
        built = time.perf_counter() - start
        print(f"built in {built:.0f} s: {asdict(counts)}", flush=True)
    from server_catalog import PASSWORD

    from cadang.server.runs.models import Run

    print(f"catalog: {Run.objects.count()} runs", flush=True)
    if args.profile:
        for label, user, resolve in pages():
            if label == args.profile:
                profile(resolve(), user)
                return
        raise SystemExit(f"no page labelled {args.profile!r}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if args.server == "waitress":
        cmd = [
            *cadang_cmd(),
            "serve",
            "--no-scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--threads",
            str(args.threads),
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "cadang.server.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
        ]
    server_log = work / "server.log"  # a file, not a pipe: a full pipe would stall the server
    log_file = server_log.open("wb")
    server = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    results: list[Result] = []
    try:
        wait_for(base + "/accounts/login/", server)
        sessions: dict[str, str] = {}
        only = {s.strip() for s in args.only.split(",") if s.strip()}
        for label, user, resolve in pages():
            if only and label not in only:
                continue
            try:
                path = resolve()
            except Exception as exc:  # a page not built yet, or no object for it
                print(f"{label:24} not measured: {exc!r}", flush=True)
                results.append(Result(label, user, "", 0, 0, 0, 0, 0, 0, 0, 0, 0, repr(exc)))
                continue
            if user not in sessions:
                sessions[user] = log_in(base, user, PASSWORD)
            status, queries, slowest = count_queries(path, user)
            if args.show_queries:
                for ms, sql in slowest:
                    print(f"    {ms:7.1f} ms  {sql[:400]}", flush=True)
            status, final, single = get(base + path, sessions[user])
            if status != 200 or "/accounts/login/" in final:
                print(f"{label:24} {path}: HTTP {status} ({final})", flush=True)
            rounds = []
            for _round in range(args.repeat):
                figures, _out = wrk(
                    base + path, sessions[user], args.duration, args.wrk_threads, args.connections
                )
                drain(base)
                rounds.append(figures)
            # The round with the median median: one noisy round (the machine is shared) does
            # not decide the figure.
            figures = sorted(rounds, key=lambda f: f["median_ms"])[len(rounds) // 2]
            r = Result(
                label,
                user,
                path,
                status,
                queries,
                round(single, 1),
                round(figures["median_ms"], 1),
                round(figures["p90_ms"], 1),
                round(figures["p99_ms"], 1),
                round(figures["requests_per_s"], 1),
                int(figures["non_2xx"]),
                int(figures["timeouts"]),
                "",
            )
            results.append(r)
            if not figures["requests"]:  # none finished within the duration
                r.median_ms = r.p90_ms = r.p99_ms = float("inf")
            good = r.median_ms < TARGET_MS and not r.non_2xx and not r.timeouts
            mark = "ok" if good else f"MISSED ({r.non_2xx} non-2xx, {r.timeouts} time-outs)"
            print(
                f"{label:24} {r.median_ms:8.1f} ms median  {r.p90_ms:8.1f} ms p90  "
                f"{r.requests_per_s:7.1f} req/s  {r.queries:3d} queries  {mark}",
                flush=True,
            )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log_file.close()
        err = server_log.read_text(errors="replace")
        if "Traceback" in err:
            print(f"the server logged errors ({server_log}):\n{err[-3000:]}", file=sys.stderr)

    print()
    print("| page | user | median | p90 | p99 | requests/s | SQL queries | single request |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        if r.errors:
            print(f"| {r.label} | {r.role} | not measured | | | | | |")
            continue
        print(
            f"| {r.label} | {r.role} | {r.median_ms:.1f} ms | {r.p90_ms:.1f} ms | "
            f"{r.p99_ms:.1f} ms | {r.requests_per_s:.1f} | {r.queries} | {r.single_ms:.1f} ms |"
        )
    missed = [
        r.label for r in results if r.errors or r.median_ms >= TARGET_MS or r.non_2xx or r.timeouts
    ]
    print(
        f"\ntarget: every page under {TARGET_MS:.0f} ms at the median; missed: {missed or 'none'}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "command": " ".join(sys.argv),
                    "database": database.split("://")[0],
                    "server": args.server,
                    "wrk": f"-t{args.wrk_threads} -c{args.connections} -d{args.duration}",
                    "repeat": args.repeat,
                    "runs": Run.objects.count(),
                    "pages": [asdict(r) for r in results],
                },
                indent=1,
            )
        )
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
