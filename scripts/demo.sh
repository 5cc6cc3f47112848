#!/usr/bin/env bash
# Install Cadang into .venv and run the main job end to end on sample data:
# create a repository, back up an office's files, change some, back up again (only the
# change is stored), list, verify every byte, restore, and compare with the original.
# Then the office's plan: an application with its files and a SQLite database, checked,
# run, listed and restored into a new name (no database server needed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

DEMO="$PWD/demo"
rm -rf "$DEMO"
mkdir -p "$DEMO"
export CADANG_REPOSITORY="$DEMO/repo"
export CADANG_PASSWORD_FILE="$DEMO/passphrase"
printf 'demo-passphrase-ganti-saya\n' > "$CADANG_PASSWORD_FILE"
chmod 600 "$CADANG_PASSWORD_FILE"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Sample data: source code, a database dump, scanned letters (16 MiB)"
python bench/dataset.py "$DEMO/data" --size-mib 16

step "cadang init"
cadang init

step "cadang backup (first: everything is new)"
cadang backup "$DEMO/data" --tag harian --label "demo-$(date +%Y%m%d-%H%M)"

step "Change some files, then back up again (only the change is stored)"
python -c "import sys; sys.path.insert(0, 'bench'); from dataset import mutate; from pathlib import Path; mutate(Path('$DEMO/data'))"
cadang backup "$DEMO/data" --tag harian

step "cadang snapshots"
cadang snapshots

step "cadang diff (what changed between the two snapshots)"
first=$(cadang snapshots --json | python -c 'import json,sys; print(json.load(sys.stdin)[0]["short_id"])')
cadang diff "$first" latest | tail -n 6

step "cadang check --read-data (every byte decrypted and verified)"
cadang check --read-data

step "cadang restore latest"
cadang restore latest --target "$DEMO/restore"
if diff -r "$DEMO/data" "$DEMO/restore$DEMO/data" >/dev/null; then
  echo "restored files are identical to the originals"
else
  echo "restored files differ from the originals" >&2; exit 1
fi

step "Summary"
cadang snapshots --json > "$DEMO/snapshots.json"
python - "$DEMO/snapshots.json" <<'PY'
import json
import sys

for s in json.load(open(sys.argv[1])):
    m = s["summary"]
    print(
        f"{s['short_id']}  {m['total_files']} files, {m['total_bytes'] / 2**20:.1f} MiB processed, "
        f"{m['data_added'] / 2**20:.1f} MiB added, {m['duration']:.1f}s"
    )
PY
du -sh "$CADANG_REPOSITORY" | awk '{print "repository size on disk: " $1}'

step "A backup plan (cadang.yaml): application siak, its source code and its SQLite database"
python - "$DEMO/siak.db" <<'PY'
import sqlite3
import sys

con = sqlite3.connect(sys.argv[1])
con.execute("CREATE TABLE penduduk (nik TEXT PRIMARY KEY, nama TEXT, lahir DATE, desa TEXT)")
con.executemany(
    "INSERT INTO penduduk VALUES (?, ?, ?, ?)",
    [(f"5108{i:012d}", f"Warga ke-{i}", f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}", "Banjar")
     for i in range(5000)],
)
con.commit()
print("demo/siak.db: table penduduk with", con.execute("SELECT count(*) FROM penduduk").fetchone()[0], "rows")
PY
cat > "$DEMO/cadang.yaml" <<'YAML'
# A small runnable plan ('cadang plan init' writes the full commented example).
# Relative paths are relative to this file.
organization:
  name: Dinas Kependudukan dan Pencatatan Sipil (demo)
  code: disdukcapil-demo
repositories:
  main:
    path: repo
    password_file: passphrase
naming:
  template: "{org}-{app}-{source}-{time:%Y%m%d-%H%M}"
escalation:                      # named when a check fails (SOP 000: the Kasi and the Kabid)
  - {name: Made Wirawan, role: Kasi}
  - {name: Ketut Sudarma, role: Kabid}
antivirus:
  database: clamav-db            # the demo's own signatures (no internet here); omit in production
state_dir: state                 # records of checks and runs (default /var/lib/cadang)
applications:
  - name: siak
    owner: Bidang PIAK
    priority: daily
    classification: confidential
    antivirus:
      on_infection: quarantine-and-continue   # leave infected files out, list them, back up the rest
    sources:
      - type: files
        name: code
        paths: [data/src/app00]
      - type: sqlite
        name: db
        path: siak.db
YAML
cat "$DEMO/cadang.yaml"
unset CADANG_REPOSITORY CADANG_PASSWORD_FILE  # from here on the plan names the repository

# A deliberately "infected" file: the EICAR test string, harmless, detected by every antivirus.
# There is no internet for signature updates here, so the demo writes a one-line signature
# database that detects it (production uses ClamAV's own, kept fresh by freshclam).
python - "$DEMO" <<'PY'
import hashlib
import pathlib
import sys

demo = pathlib.Path(sys.argv[1])
eicar = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
(demo / "data/src/app00/lampiran-surat.txt").write_bytes(eicar)
(demo / "clamav-db").mkdir(exist_ok=True)
sig = f"{hashlib.md5(eicar).hexdigest()}:{len(eicar)}:Demo-EICAR-Test-File\n"
(demo / "clamav-db/demo.hdb").write_text(sig)
PY
if command -v clamscan >/dev/null; then
  echo "ClamAV is installed: the antivirus check will find demo/data/src/app00/lampiran-surat.txt"
else
  echo "NOTE: ClamAV is not installed (apt-get install clamav): the antivirus check is SKIPPED"
  echo "      and says so in the checklist; the rest of the demo runs the same."
fi

step "cadang -c demo/cadang.yaml plan check"
cadang -c demo/cadang.yaml plan check

step "cadang -c demo/cadang.yaml check-before (the pre-backup checklist of SOP 000)"
cadang -c demo/cadang.yaml check-before || echo "(exit $?: a check needs attention; the Kasi and Kabid are named above)"

step "cadang -c demo/cadang.yaml run (checks, one snapshot per source, verification, the report)"
cadang -c demo/cadang.yaml run || echo "(exit $?: see the report above)"

step "cadang -c demo/cadang.yaml status (last backup, last verified restore, overdue?)"
cadang -c demo/cadang.yaml status || echo "(exit $?: something needs attention)"

step "cadang -c demo/cadang.yaml history"
cadang -c demo/cadang.yaml history

step "cadang -c demo/cadang.yaml restore siak --source db --into demo/siak_pulih.db (beside the original)"
rm -f "$DEMO/siak_pulih.db"
cadang -c demo/cadang.yaml restore siak --source db --into "$DEMO/siak_pulih.db"
python - "$DEMO/siak.db" "$DEMO/siak_pulih.db" <<'PY'
import sqlite3
import sys

counts = [sqlite3.connect(p).execute("SELECT count(*) FROM penduduk").fetchone()[0] for p in sys.argv[1:]]
print(f"rows in the original: {counts[0]}, rows in the restored copy: {counts[1]}")
if counts[0] != counts[1]:
    sys.exit("the restored database differs from the original")
PY
export CADANG_REPOSITORY="$DEMO/repo" CADANG_PASSWORD_FILE="$DEMO/passphrase"
echo
echo "Try it yourself:  source .venv/bin/activate; export CADANG_REPOSITORY=$CADANG_REPOSITORY CADANG_PASSWORD_FILE=$CADANG_PASSWORD_FILE; cadang --help"
echo "The plan:         cadang -c demo/cadang.yaml history   (cadang plan init writes a full example)"

# ---- The server: the approval chain in the browser --------------------------------------
# cadang serve imports the plan and the runs above (each becomes a run with its Backup
# Execution Form), with one user per role. CADANG_DEMO_NO_SERVE=1 checks that it answers
# and stops (for tests); otherwise it serves until Ctrl-C.
unset CADANG_REPOSITORY CADANG_PASSWORD_FILE
export CADANG_STATE_DIR="$DEMO/state"   # the catalog and the server's key stay in demo/ too

step "A backup dated last month (the Kabid approves a month once it is over)"
python -m cadang.server.demo backdated-run demo/cadang.yaml \
  || echo "(exit $?: see the report; its form is in the catalog all the same)"

step "cadang admin create-demo-users (one user per role; passwords shown once)"
LOGINS=$(cadang admin create-demo-users --unit "Bidang PIAK")

step "cadang serve --plan demo/cadang.yaml (pages, scheduler, the plan and its runs imported)"
PORT=$(python -m cadang.server.demo free-port "${CADANG_DEMO_PORT:-8000}")
URL="http://127.0.0.1:$PORT/"
cadang serve --plan demo/cadang.yaml --host 127.0.0.1 --port "$PORT" &
SERVER=$!
stop_server() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
trap 'stop_server; exit 0' INT TERM
trap stop_server EXIT
if ! python -m cadang.server.demo wait-until-up "${URL}accounts/login/" --timeout 90; then
  echo "the server did not answer at $URL" >&2; exit 1
fi

step "The server is up: $URL"
cat <<TEXT
Log in at $URL with these users (user name = role; English under the language menu):
$LOGINS

The approval chain, in about a minute (log out between people):
  operator  Inbox: open each form, add remarks, Confirm. Runs: start a backup of siak
            by hand and watch it finish; its form joins the Inbox.
  verifier  (Kasi) Inbox: open each form, Verify it (or Return it with a reason).
  approver  (Kabid) Inbox: last month is ready (its one form, from the backup dated last
            month): open it, Approve the month.
  head      (Kadis) Inbox: the approved month's summary.
  unit      (Bidang PIAK) sees its own applications only.
  auditor   Audit log: every step above, hash-chained; 'cadang audit verify' checks it.
TEXT
if [ "${CADANG_DEMO_NO_SERVE:-}" = "1" ]; then
  echo "CADANG_DEMO_NO_SERVE=1: the log-in page answered; stopping the server."
  exit 0
fi
echo "Serving until Ctrl-C."
wait "$SERVER"
