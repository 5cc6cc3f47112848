"""Helpers for the demo's server step (scripts/demo.sh); not used by the server itself.

The Kabid approves a month only once it is over, and the demo's backups are all from
today. So the demo makes one more real backup with the run's clock set to the 15th of
last month (:func:`backdated_run`): its snapshot labels, report and so its form carry
that date, and a newcomer can take one form through the whole chain, up to the Kabid's
approval of last month, in a minute. :func:`wait_until_up` waits for the log-in page.

    python -m cadang.server.demo backdated-run demo/cadang.yaml [--app siak]
    python -m cadang.server.demo wait-until-up http://127.0.0.1:8000/ [--timeout 60]
    python -m cadang.server.demo free-port [8000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import time
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

from cadang.plan.loader import load_plan
from cadang.plan.run import Runner

DEFAULT_ZONE = "Asia/Jakarta"


def last_month(now: dt.datetime | None = None) -> dt.datetime:
    """The 15th of the month before ``now``, 01:00 in the office's time zone."""
    zone = ZoneInfo(os.environ.get("CADANG_TIME_ZONE") or DEFAULT_ZONE)
    today = (now or dt.datetime.now(zone)).astimezone(zone).date()
    day = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=15)
    return dt.datetime.combine(day, dt.time(1, 0), zone)


def backdated_run(plan_file: str, apps: list[str], when: dt.datetime) -> int:
    """Run the plan's backups now, with the run's clock reading ``when`` onwards; the
    report goes to the state directory like ``cadang run``'s. Returns its exit code."""
    plan = load_plan(plan_file)
    start = time.monotonic()
    runner = Runner(
        plan, apps=apps or None, clock=lambda: when + dt.timedelta(seconds=time.monotonic() - start)
    )
    report = runner.run()
    for result in report.results:
        print(f"  {result.app}/{result.source}: {result.status.value}  {result.label}")
    return report.exit_code


def wait_until_up(url: str, timeout: float = 60.0) -> bool:
    """True once ``url`` answers 200 (the log-in page), False after ``timeout`` seconds."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not a web address: {url}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (checked above)
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return False


def free_port(preferred: int = 8000) -> int:
    """``preferred`` if nothing listens on it on 127.0.0.1, else a free port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cadang.server.demo")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("backdated-run", help="back up the plan as if on the 15th of last month")
    run.add_argument("plan")
    run.add_argument("--app", action="append", default=[])
    wait = sub.add_parser("wait-until-up", help="wait until the address answers 200")
    wait.add_argument("url")
    wait.add_argument("--timeout", type=float, default=60.0)
    port = sub.add_parser("free-port", help="print the preferred port if free, else a free one")
    port.add_argument("preferred", type=int, nargs="?", default=8000)
    args = parser.parse_args(argv)
    if args.command == "backdated-run":
        when = last_month()
        print(f"backing up as on {when:%Y-%m-%d %H:%M %Z}")
        return backdated_run(args.plan, args.app, when)
    if args.command == "wait-until-up":
        return 0 if wait_until_up(args.url, args.timeout) else 1
    print(free_port(args.preferred))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
