#!/usr/bin/env bash
# Set up (first run only) and start SRGAN Desktop with the shipped default model.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/srgan-desktop "$@"
