"""Cadang against restic, side by side in one run, on the dataset of bench/dataset.py.

For each tool and each round: init, initial backup, 1 %-change incremental backup,
no-change backup, full restore (to tmpfs, /dev/shm, because ext4 file creation is very noisy
here), check --read-data. Measures wall time, CPU time (user+sys of the child) and peak RSS
of each command, and the repository size, then prints medians over the rounds and the
cadang/restic ratio of each.

    python bench/run.py [--size-mib 1024] [--rounds 3] [--work DIR] [--json FILE]

restic comes from the Debian package ``restic``; without it only cadang is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset import generate, mutate

STEPS = ["init", "backup", "incremental", "nochange", "restore", "check"]


@dataclass
class Measure:
    wall: float
    cpu: float
    rss_mib: float


def run(cmd: list[str], env: dict[str, str]) -> Measure:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with {code}:\n{err}")
    return Measure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Tool:
    name = ""

    def __init__(self, work: Path) -> None:
        self.repo = work / f"repo-{self.name}"
        self.env = dict(os.environ)

    def commands(self, data: Path, target: Path) -> dict[str, list[str]]:
        raise NotImplementedError


class Cadang(Tool):
    name = "cadang"

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        self.env["CADANG_PASSWORD"] = "bench-passphrase"
        self.env.pop("CADANG_KDF_MEMORY_KIB", None)

    def commands(self, data: Path, target: Path) -> dict[str, list[str]]:
        c = [sys.executable, "-m", "cadang"]
        r = ["--repo", str(self.repo)]
        return {
            "init": [*c, "init", *r],
            "backup": [*c, "backup", *r, "-q", str(data)],
            "incremental": [*c, "backup", *r, "-q", str(data)],
            "nochange": [*c, "backup", *r, "-q", str(data)],
            "restore": [*c, "restore", *r, "-q", "latest", "--target", str(target)],
            "check": [*c, "check", *r, "--read-data"],
        }


class Restic(Tool):
    name = "restic"

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        self.env["RESTIC_PASSWORD"] = "bench-passphrase"
        self.env["RESTIC_CACHE_DIR"] = str(work / "restic-cache")

    def commands(self, data: Path, target: Path) -> dict[str, list[str]]:
        r = ["restic", "--repo", str(self.repo), "--quiet"]
        return {
            "init": [*r, "init"],
            "backup": [*r, "backup", str(data)],
            "incremental": [*r, "backup", str(data)],
            "nochange": [*r, "backup", str(data)],
            "restore": [*r, "restore", "latest", "--target", str(target)],
            "check": [*r, "check", "--read-data"],
        }


def one_round(tool: Tool, data: Path, work: Path, size: int) -> tuple[dict[str, Measure], int]:
    shutil.rmtree(tool.repo, ignore_errors=True)
    shutil.rmtree(work / "restic-cache", ignore_errors=True)
    target = Path("/dev/shm") / f"cadang-bench-restore-{tool.name}"
    shutil.rmtree(target, ignore_errors=True)
    cmds = tool.commands(data, target)
    out: dict[str, Measure] = {}
    for step in STEPS:
        if step == "incremental":
            mutate(data, 0.01, seed=2)
        out[step] = run(cmds[step], tool.env)
        if step == "restore":
            shutil.rmtree(target, ignore_errors=True)
    repo_size = du(tool.repo)
    return out, repo_size


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "work")
    ap.add_argument("--json", type=Path, default=None, help="write all raw figures here")
    ap.add_argument("--tools", default="cadang,restic")
    ap.add_argument("--skip", default="", help="comma-separated steps to leave out, e.g. check")
    args = ap.parse_args()
    for step in filter(None, args.skip.split(",")):
        STEPS.remove(step)

    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    pristine = work / f"dataset-{args.size_mib}"
    if not pristine.exists():
        print(f"generating {args.size_mib} MiB dataset in {pristine} ...", flush=True)
        generate(pristine, args.size_mib << 20)
    tools: list[Tool] = []
    for name in args.tools.split(","):
        if name == "restic" and not shutil.which("restic"):
            print("restic is not installed (apt-get install restic): measuring cadang only")
            continue
        tools.append(Cadang(work) if name == "cadang" else Restic(work))

    results: dict[str, list[dict[str, Measure]]] = {t.name: [] for t in tools}
    sizes: dict[str, list[int]] = {t.name: [] for t in tools}
    for r in range(args.rounds):
        # Alternate the order so neither tool always runs on a warmer machine.
        order = tools if r % 2 == 0 else list(reversed(tools))
        for tool in order:
            data = work / "data"
            shutil.rmtree(data, ignore_errors=True)
            shutil.copytree(pristine, data, symlinks=True)
            subprocess.run(["sync"], check=False)
            m, size = one_round(tool, data, work, args.size_mib << 20)
            results[tool.name].append(m)
            sizes[tool.name].append(size)
            print(
                f"round {r + 1} {tool.name}: "
                + ", ".join(f"{s} {m[s].wall:.2f}s" for s in STEPS)
                + f", repo {size / 2**20:.0f} MiB",
                flush=True,
            )

    def med(tool: str, step: str, attr: str) -> float:
        return statistics.median(getattr(m[step], attr) for m in results[tool])

    print()
    print(f"Dataset {args.size_mib} MiB, {args.rounds} rounds, medians")
    header = f"{'step':<12}" + "".join(
        f"{t.name + ' wall':>13}{t.name + ' cpu':>12}{t.name + ' rss':>12}" for t in tools
    )
    if len(tools) == 2:
        header += f"{'wall ratio':>12}{'cpu ratio':>11}"
    print(header)
    for step in STEPS:
        line = f"{step:<12}"
        for t in tools:
            line += f"{med(t.name, step, 'wall'):>12.2f}s{med(t.name, step, 'cpu'):>11.2f}s"
            line += f"{med(t.name, step, 'rss_mib'):>8.0f} MiB"
        if len(tools) == 2:
            a, b = tools[0].name, tools[1].name
            line += f"{med(a, step, 'wall') / med(b, step, 'wall'):>12.2f}"
            line += f"{med(a, step, 'cpu') / med(b, step, 'cpu'):>11.2f}"
        print(line)
    line = f"{'repo size':<12}"
    for t in tools:
        line += f"{statistics.median(sizes[t.name]) / 2**20:>11.1f} MiB" + " " * 24
    if len(tools) == 2:
        line += f"{statistics.median(sizes[tools[0].name]) / statistics.median(sizes[tools[1].name]):>4.2f}"
    print(line)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "size_mib": args.size_mib,
                    "rounds": args.rounds,
                    "results": {
                        t: [{s: m[s].__dict__ for s in STEPS} for m in rs]
                        for t, rs in results.items()
                    },
                    "repo_sizes": sizes,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
