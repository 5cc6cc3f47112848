#!/usr/bin/env bash
# Shared set-up: a virtual environment in .venv with Cadang installed (editable).
# Usage: source scripts/setup.sh [extra]   (extra = "test" also installs the test tools)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_apt=()
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "Cadang needs Python 3.11 or newer (found $(python3 --version 2>&1))" >&2; exit 1; }
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ "${1:-}" = "test" ]; then
  # The tests use the real tools: dump/restore clients for the local PostgreSQL and
  # MariaDB, ClamAV for the antivirus check, GNU tar to read exports, Chromium for the
  # server's browser tests.
  command -v tar >/dev/null || need_apt+=(tar)
  command -v pg_dump >/dev/null || need_apt+=(postgresql-client)
  command -v mariadb-dump >/dev/null || need_apt+=(mariadb-client)
  command -v clamscan >/dev/null || need_apt+=(clamav)
  command -v clamd >/dev/null || need_apt+=(clamav-daemon)
  # The server's browser tests drive Debian's Chromium with Playwright (no browser download).
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "please install: ${need_apt[*]} (sudo apt-get install ${need_apt[*]})" >&2; exit 1
  fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if [ "${1:-}" = "test" ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
else
  .venv/bin/python -m pip install -q -e .
fi
export PATH="$PWD/.venv/bin:$PATH"
