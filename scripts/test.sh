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
