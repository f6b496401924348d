#!/usr/bin/env bash
# The trainer-only configuration (GRIDSEARCH_COMPONENTS=trainer) configures
# and builds from a clean folder with gRPC, protobuf, SQLite and CLI11 hidden
# from CMake; no object includes their headers and gridsearch-train links
# none of their libraries; gridsearch-train trains a short job.
# Usage: trainer_only_build.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
fail() { echo "trainer_only_build: $*" >&2; exit 1; }

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
hidden=(-DCMAKE_DISABLE_FIND_PACKAGE_gRPC=ON -DCMAKE_DISABLE_FIND_PACKAGE_SQLite3=ON
        -DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON)
configure() {
  rm -rf "$build"
  cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DGRIDSEARCH_COMPONENTS=trainer "${hidden[@]}" "$@"
}
# Protobuf is hidden too, unless the LibTorch itself needs it: Debian's
# LibTorch (Caffe2) looks for protobuf in its own CMake config, the official
# CUDA LibTorch does not. The header check below still shows that none of
# our objects includes protobuf.
if ! log=$(configure -DCMAKE_DISABLE_FIND_PACKAGE_Protobuf=ON 2>&1); then
  if grep -q "Caffe2 version uses protobuf" <<<"$log"; then
    echo "trainer_only_build: this LibTorch finds protobuf itself; protobuf stays visible to it"
    configure
  else
    echo "$log"
    fail "configuring the trainer-only build failed"
  fi
fi
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)"

# Every header every object was compiled with.
if [ -f "$build/build.ninja" ]; then
  headers=$(ninja -C "$build" -t deps)
else
  headers=$(find "$build" -name '*.o.d' -exec cat {} +)
fi
[ -n "$headers" ] || fail "no dependency information found in $build"
if forbidden=$(grep -E '/(grpc|grpcpp|grpc\+\+)/|/google/protobuf/|sqlite3\.h|/CLI/' <<<"$headers" | sort -u | head -5) &&
   [ -n "$forbidden" ]; then
  fail "the trainer-only build includes headers it must not need:
$forbidden"
fi
train="$build/cli/gridsearch-train"
[ -x "$train" ] || fail "$train was not built"
# Its own dependencies (LibTorch's are LibTorch's business: Debian's links
# protobuf itself).
if readelf -d "$train" | grep NEEDED | grep -E 'grpc|protobuf|sqlite'; then
  fail "$train links gRPC, protobuf or SQLite"
fi
for t in trainer_test pal_test networks_test devices_test; do
  [ -x "$build/tests/$t" ] || fail "torch test $t was not built"
done
for b in pal_step train_throughput; do
  [ -x "$build/tests/bench/$b" ] || fail "benchmark $b was not built"
done

job='{"model": "logreg", "dataset": "synthetic", "batch_size": 32, "budget_seconds": 30,
      "seed": 1, "optimizers": {"sgd": {"lr": 0.1}}}'
out=$("$train" - --max-steps 5 --threads 1 --format jsonl <<<"$job")
steps=$(grep -c '"step"' <<<"$out" || true)
[ "$steps" = 5 ] || fail "gridsearch-train printed $steps points, expected 5:
$out"
grep -q '"result"' <<<"$out" || fail "no result line:
$out"
rm -rf "$build"
echo "trainer_only_build: ok"
