#!/usr/bin/env bash
# Gather the data of the GPU run (scripts/gpu_run.py) into .gpu_bundle/ (ignored by git, carried by
# the device tool by name): Set5 and as many training images of ../shared/data/train as fit, so
# that the working tree plus the bundle stays under the tool's 64 MiB. Prints the sizes.
#
#   scripts/gpu_bundle.sh                 # build (replaces an older bundle)
#   scripts/gpu_bundle.sh --check         # only report the sizes (exit 1 when over 64 MiB)
#   scripts/gpu_bundle.sh --shared DIR    # another shared data folder
#
# Standard-library Python only: see scripts/gpu/bundle.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" scripts/gpu/bundle.py "$@"
