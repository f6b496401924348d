#!/bin/sh
# cuda_sync_counter_test PROBE COUNTER: the counter, preloaded into the probe
# (which calls a fake CUDA runtime a known number of times), counts each call
# exactly, passes each on with its arguments and results, and writes the
# counts where GRIDSEARCH_SYNC_COUNT_FILE says; without it preloaded nothing
# is counted or written.
set -eu
probe=$1
counter=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM

GRIDSEARCH_SYNC_COUNT_FILE="$dir/counts.json" LD_PRELOAD="$counter" "$probe"
expected='{"cudaDeviceSynchronize": 1, "cudaStreamSynchronize": 3, "cudaEventSynchronize": 2, "cudaMemcpy": 1, "cudaMemcpyAsync_to_host": 2, "cudaMalloc": 1, "cudaFree": 1, "cudaHostAlloc": 1, "cudaFreeHost": 1, "cudaEventQuery": 5, "calls": 19}'
got=$(cat "$dir/counts.json")
if [ "$got" != "$expected" ]; then
  echo "counts: got      $got" >&2
  echo "counts: expected $expected" >&2
  exit 1
fi

GRIDSEARCH_SYNC_COUNT_FILE="$dir/none.json" "$probe"
if [ -e "$dir/none.json" ]; then
  echo "counts were written without the counter preloaded" >&2
  exit 1
fi
echo "cuda_sync_counter: counts and pass-through as expected"
