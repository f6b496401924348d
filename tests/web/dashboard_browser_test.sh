#!/usr/bin/env bash
# The dashboard in a real browser during a real sweep: `gridsearch run
# --http 127.0.0.1:0` trains a grid of a python3 program with two workers
# (one configuration's parameter makes its program crash, so its jobs
# fail), and dashboard_test.mjs drives Debian's headless Chromium through
# playwright-core against it. Everything is stopped and removed on exit.
#
# usage: dashboard_browser_test.sh GRIDSEARCH_BIN SOURCE_DIR SCREENSHOT_DIR
set -euo pipefail
bin=$1 src=$2 shots=$3
web="$src/tests/web"
if [ ! -d "$web/node_modules/playwright-core" ]; then
  echo "dashboard_browser_test: playwright-core is not installed in $web; run deploy/install-deps.sh" >&2
  exit 1
fi
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "dashboard_browser_test: no Chromium at $chromium; run deploy/install-deps.sh" >&2
  exit 1
fi
mkdir -p "$shots"
work=$(mktemp -d)
run_pid=""
cleanup() {
  if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
    kill -TERM "$run_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$run_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/spec.json" <<SPEC
{
  "name": "dashboard browser test",
  "program": {"command": ["python3", "$src/tests/programs/lstsq.py"]},
  "budget_seconds": 20,
  "seeds": [1, 2, 3],
  "optimizers": {"sgd": {"lr": [0.01, 0.03, 0.08, "oops"], "schedule": ["constant", "inverse"],
                         "steps": 60, "step_seconds": 0.06}},
  "ablation": {"optimizer": "sgd", "features": {"schedule": "constant"}}
}
SPEC

"$bin" run "$work/spec.json" --workers 2 --threads 1 --db "$work/sweep.db" --no-plots --quiet \
  --http 127.0.0.1:0 > "$work/run.out" 2> "$work/run.err" &
run_pid=$!
url=""
for _ in $(seq 300); do
  url=$(sed -n 's/^dashboard: //p' "$work/run.err" | head -1)
  [ -n "$url" ] && break
  kill -0 "$run_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "dashboard_browser_test: gridsearch run printed no dashboard URL" >&2
  cat "$work/run.err" >&2
  exit 1
fi
echo "dashboard_browser_test: $url"

status=0
CHROMIUM="$chromium" timeout 240 node "$web/dashboard_test.mjs" "$url" "$shots" || status=$?

# The run ends by itself: 18 jobs done, 6 failed (exit 1, the error named),
# each job about 4 s, so that the checks above see it running.
run_status=0
for _ in $(seq 600); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
wait "$run_pid" || run_status=$?
run_pid=""
if [ "$run_status" -ne 1 ] || ! grep -q "could not convert string to float" "$work/run.out" "$work/run.err"; then
  echo "dashboard_browser_test: gridsearch run ended with $run_status, not 1 with the failed jobs' error" >&2
  tail -20 "$work/run.err" >&2
  status=1
fi
# The finished sweep behind a token: the page asks for it once.
if [ "$status" -eq 0 ]; then
  echo "browser-test-token" > "$work/token"
  "$bin" coordinator --db "$work/sweep.db" --listen 127.0.0.1:0 --http 127.0.0.1:0 \
    --token-file "$work/token" --http-url-file "$work/url" 2> "$work/coordinator.err" &
  run_pid=$!
  for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
  CHROMIUM="$chromium" timeout 120 node "$web/dashboard_test.mjs" --login "$(cat "$work/url")sweeps/1" \
    "$shots" browser-test-token || status=$?
fi
if [ "$status" -ne 0 ]; then
  echo "--- gridsearch run's output" >&2
  tail -30 "$work/run.err" >&2
  tail -30 "$work/sweep.db.workers.log" >&2 || true
fi
exit "$status"
