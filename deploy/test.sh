#!/usr/bin/env bash
# Installs what gridsearch needs, builds everything and runs the whole test
# suite (unit and end-to-end). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh
./deploy/build.sh
ctest --test-dir build --output-on-failure --timeout 900 "$@"
