#!/usr/bin/env bash
# Create .venv (once) and install the project with its test extras into it (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# The stamp skips pip when pyproject.toml has not changed since the last install (pip's own
# "already satisfied" pass takes ~20 s with torch's dependency tree).
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --disable-pip-version-check -q -e ".[test]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
