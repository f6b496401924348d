#!/usr/bin/env bash
# The dashboard's sweep page at the papers' scale: makes (or reuses) a
# 4,080-configuration sweep with simulated results (paper_grid_db), serves it
# with `gridsearch coordinator --http`, and runs dashboard_bench.mjs in
# headless Chromium. Not part of ctest: run by hand.
#
# usage: tests/web/dashboard_bench.sh [BUILD_DIR] [DB_FILE]
#   BUILD_DIR defaults to build; DB_FILE to /tmp/gridsearch-paper-grid-100.db
#   (made with 10 seeds and 100 curve points per job when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
db=${2:-/tmp/gridsearch-paper-grid-100.db}
if [ ! -f "$db" ]; then
  "$build/tests/bench/paper_grid_db" --db "$db" --seeds 10 --points 100
fi
work=$(mktemp -d)
coord=""
cleanup() {
  [ -n "$coord" ] && kill "$coord" 2>/dev/null && wait "$coord" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
"$build/cli/gridsearch" coordinator --db "$db" --listen 127.0.0.1:0 --http 127.0.0.1:0 \
  --http-url-file "$work/url" 2> "$work/log" &
coord=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(cat "$work/url")
node tests/web/dashboard_bench.mjs "${url}sweeps/1" --runs "${RUNS:-5}"
