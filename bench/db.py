"""Database backups: `cadang run` against dump-to-file + restic and dump | restic --stdin.

Builds (once) a PostgreSQL database of about --size-mib with ``pgbench -i`` and a MariaDB
database of similar size, then for each measures, in the same run and alternating order:

- cadang:        ``cadang -c plan.yaml run --app pg`` (pre-backup checks, then the source
                 streams ``pg_dump -Fc -Z0`` straight into the repository; no dump file
                 anywhere; verification after the run switched off, as restic has none)
- cadang+verify: the same with the default verification: the snapshot read back and the
                 dump restored into a throw-away database whose row counts are compared
- file+restic:   ``pg_dump -Fc > file`` then ``restic backup file`` (the SOP way, with a file)
- pipe+restic:   ``pg_dump -Fc | restic backup --stdin``
- pipe+restic Z0: ``pg_dump -Fc -Z0 | restic backup --stdin`` (same dump as cadang's)

and the same for MariaDB with ``mariadb-dump --single-transaction``. Wall time, CPU (the whole
process tree) and whether a temporary file was written. Prints medians and cadang/restic
ratios.

    python bench/db.py [--size-mib 1024] [--rounds 3] [--work DIR]

Needs the local PostgreSQL (127.0.0.1:5432, trust) and MariaDB (127.0.0.1:3306, root) and
restic (Debian package). Creates databases ``cadang_bench`` in both and leaves them for the
next run (``--drop`` removes them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

PG = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
MY = ["-h", "127.0.0.1", "-P", "3306", "-u", "root"]
DB = "cadang_bench"


def sh(cmd: str, env: dict[str, str]) -> tuple[float, float]:
    """Run a shell pipeline; return (wall, cpu of the whole process tree)."""
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, capture_output=True)
    wall = time.perf_counter() - start
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"failed: {cmd}\n{proc.stderr.decode(errors='replace')[-2000:]}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def pg_size() -> int:
    out = subprocess.run(
        ["psql", *PG, "-d", DB, "-Atc", "select pg_database_size(current_database())"],
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip() or 0) if out.returncode == 0 else 0


def ensure_postgres(size_mib: int) -> None:
    if pg_size() >= size_mib * 0.9 * 2**20:
        return
    subprocess.run(["dropdb", *PG, "--if-exists", DB], check=True)
    subprocess.run(["createdb", *PG, DB], check=True)
    scale = max(1, size_mib // 15)  # pgbench: about 15 MiB per scale unit with indexes
    print(f"pgbench -i -s {scale} ...", flush=True)
    subprocess.run(["pgbench", *PG, "-i", "-q", "-s", str(scale), DB], check=True)


def my_size() -> int:
    q = (
        "select coalesce(sum(data_length + index_length), 0) from information_schema.tables "
        f"where table_schema = '{DB}'"
    )
    out = subprocess.run(["mariadb", *MY, "-N", "-e", q], capture_output=True, text=True)
    return int(float(out.stdout.strip() or 0)) if out.returncode == 0 else 0


def ensure_mariadb(size_mib: int) -> None:
    if my_size() >= size_mib * 0.9 * 2**20:
        return
    print("filling MariaDB ...", flush=True)
    rows = size_mib * 2**20 // 62  # about 62 bytes a row on disk (InnoDB, measured)
    sql = f"""
    drop database if exists {DB}; create database {DB}; use {DB};
    create table penduduk (id bigint primary key, nik char(16), nama varchar(80),
      alamat varchar(120), lahir date, status tinyint) engine=innodb;
    insert into penduduk select seq, lpad(seq * 7919 % 10000000000000000, 16, '0'),
      concat('Warga ', seq), concat('Jl. Merdeka No. ', seq % 977, ', Kecamatan ', seq % 31),
      date_add('1940-01-01', interval seq % 25000 day), seq % 5 from seq_1_to_{rows};
    """
    subprocess.run(["mariadb", *MY, "-e", sql], check=True)


def plan_file(work: Path, verify: bool = False) -> Path:
    (work / "pass").write_text("bench-passphrase\n")
    plan = f"""
organization: {{name: Benchmark, code: bench}}
state_dir: {work / "state"}
verify: {{after_run: {"true" if verify else "false"}}}
repositories:
  main: {{path: {work / "repo-cadang"}, password_file: {work / "pass"}}}
applications:
  - name: pg
    owner: bench
    priority: daily
    sources:
      - {{name: db, type: postgres, host: 127.0.0.1, port: 5432, user: postgres,
          databases: [{DB}], globals: false}}
  - name: my
    owner: bench
    priority: daily
    sources:
      - {{name: db, type: mariadb, host: 127.0.0.1, port: 3306, user: root, databases: [{DB}]}}
"""
    path = work / ("plan-verify.yaml" if verify else "plan.yaml")
    path.write_text(plan)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "work" / "db")
    ap.add_argument("--drop", action="store_true", help="drop the benchmark databases and exit")
    args = ap.parse_args()
    if args.drop:
        subprocess.run(["dropdb", *PG, "--if-exists", DB], check=False)
        subprocess.run(["mariadb", *MY, "-e", f"drop database if exists {DB}"], check=False)
        return
    if not shutil.which("restic"):
        raise SystemExit("restic is not installed: apt-get install restic")
    ensure_postgres(args.size_mib)
    ensure_mariadb(args.size_mib)
    print(f"PostgreSQL {pg_size() / 2**20:.0f} MiB, MariaDB {my_size() / 2**20:.0f} MiB on disk")

    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, RESTIC_PASSWORD="bench-passphrase", CADANG_PASSWORD="bench-passphrase")
    env["RESTIC_CACHE_DIR"] = str(work / "restic-cache")
    env.pop("CADANG_KDF_MEMORY_KIB", None)
    plan = plan_file(work)
    plan_verify = plan_file(work, verify=True)
    cadang = f"{sys.executable} -m cadang"
    dump = work / "dump.file"
    pg = " ".join(PG)
    my = " ".join(MY)
    variants = {
        "pg": {
            "cadang": f"{cadang} -c {plan} run --app pg",
            # The same, then a read-back and a restore test into a throw-away database.
            "cadang+verify": f"{cadang} -c {plan_verify} run --app pg",
            "file+restic": f"pg_dump {pg} -Fc {DB} > {dump} && restic -q -r {work}/repo-restic "
            f"backup {dump} && rm {dump}",
            "pipe+restic": f"pg_dump {pg} -Fc {DB} | restic -q -r {work}/repo-restic backup "
            f"--stdin --stdin-filename {DB}.pgdump",
            "pipe+restic Z0": f"pg_dump {pg} -Fc -Z0 {DB} | restic -q -r {work}/repo-restic "
            f"backup --stdin --stdin-filename {DB}-z0.pgdump",
        },
        "mariadb": {
            "cadang": f"{cadang} -c {plan} run --app my",
            "cadang+verify": f"{cadang} -c {plan_verify} run --app my",
            "file+restic": f"mariadb-dump {my} --single-transaction {DB} > {dump} && restic -q "
            f"-r {work}/repo-restic backup {dump} && rm {dump}",
            "pipe+restic": f"mariadb-dump {my} --single-transaction {DB} | restic -q -r "
            f"{work}/repo-restic backup --stdin --stdin-filename {DB}.sql",
        },
    }
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in range(args.rounds):
        for db, cmds in variants.items():
            order = list(cmds.items())
            if r % 2:
                order.reverse()
            for name, cmd in order:
                # A fresh repository each time: every variant measures a first backup.
                for repo in ("repo-cadang", "repo-restic", "restic-cache"):
                    shutil.rmtree(work / repo, ignore_errors=True)
                subprocess.run(
                    [sys.executable, "-m", "cadang", "init", "--repo", str(work / "repo-cadang")],
                    env=env,
                    check=True,
                    capture_output=True,
                )
                subprocess.run(
                    ["restic", "-q", "-r", str(work / "repo-restic"), "init"],
                    env=env,
                    check=True,
                    capture_output=True,
                )
                wall, cpu = sh(cmd, env)
                results.setdefault((db, name), []).append((wall, cpu))
                print(f"round {r + 1} {db} {name}: {wall:.2f}s wall, {cpu:.2f}s cpu", flush=True)

    print(f"\nmedians over {args.rounds} rounds")
    print(f"{'database':<10}{'variant':<16}{'wall':>9}{'cpu':>9}{'cadang/this':>13}")
    for db, cmds in variants.items():
        base = statistics.median(w for w, _ in results[(db, "cadang")])
        for name in cmds:
            wall = statistics.median(w for w, _ in results[(db, name)])
            cpu = statistics.median(c for _, c in results[(db, name)])
            print(f"{db:<10}{name:<16}{wall:>8.2f}s{cpu:>8.2f}s{base / wall:>13.2f}")


if __name__ == "__main__":
    main()
