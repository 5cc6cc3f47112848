#!/usr/bin/env bash
# Install Cadang into .venv and run the main job end to end on sample data:
# create a repository, back up an office's files, change some, back up again (only the
# change is stored), list, verify every byte, restore, and compare with the original.
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
echo
echo "Try it yourself:  source .venv/bin/activate; export CADANG_REPOSITORY=$CADANG_REPOSITORY CADANG_PASSWORD_FILE=$CADANG_PASSWORD_FILE; cadang --help"
