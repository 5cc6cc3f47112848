#!/usr/bin/env bash
# Install everything the tests need, then run lint, types, layering and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh test
echo "== ruff";          ruff check cadang tests bench scripts
echo "== ruff format";   ruff format --check cadang tests bench scripts
echo "== mypy";          mypy
echo "== import-linter"; lint-imports
echo "== pytest"
pytest -q -p no:cacheprovider "$@"
# The server's catalog again on PostgreSQL (the default above is SQLite). Without a reachable
# server this pass is skipped, except under CI=true where PostgreSQL must be there.
if [ $# -eq 0 ]; then
  pg_url="postgresql://postgres@127.0.0.1:5432/postgres"
  if python -c "import psycopg, sys; psycopg.connect('$pg_url', connect_timeout=3).close()" 2>/dev/null; then
    echo "== pytest (server catalog on PostgreSQL)"
    CADANG_SERVER_DATABASE="$pg_url" pytest -q -p no:cacheprovider tests/server -m "not browser"
  elif [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL at 127.0.0.1:5432 is not reachable: the server catalog cannot be tested on it" >&2
    exit 1
  else
    echo "== skipped: server catalog on PostgreSQL (no server at 127.0.0.1:5432)"
  fi
fi
