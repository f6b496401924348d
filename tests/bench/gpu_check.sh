#!/usr/bin/env bash
# gpu_check.sh: builds the trainer against the machine's CUDA LibTorch and
# verifies and measures it on a GPU, in stages that each log to OUT and add
# a line to OUT/summary.txt; a failing stage does not stop the later ones.
#
#   tests/bench/gpu_check.sh bundle [DIR]     on a machine with the Debian packages:
#       gathers what the GPU machine may lack into DIR (default build-gpu-bundle,
#       about 35 MB): GoogleTest's sources, nlohmann-json, zlib's headers and
#       Fashion-MNIST
#   tests/bench/gpu_check.sh [--device cuda:0] [--stages LIST] [--out DIR]
#       [--bundle DIR] [--build DIR] [--quick]
#
# Stages (--stages, comma-separated; default all of them, in this order):
#   env    driver, GPU, CUDA, PyTorch and CMake versions
#   build  configure GRIDSEARCH_COMPONENTS=trainer against PyTorch's LibTorch
#          (torch.utils.cmake_prefix_path; the system LibTorch without one)
#          for sm_90, and build it (ninja -k 0: as much as compiles)
#   test   the torch tests on the device (GRIDSEARCH_TEST_DEVICE; label
#          torch) and the sync counter's own test
#   train  gridsearch-train on every paper network, on CIFAR-shaped synthetic
#          data and on Fashion-MNIST, with PAL; the overshoot past the budget
#          in steps (the budget counts finished device work)
#   sync   host synchronisations per step: gridsearch-train with the
#          counter preloaded (libgs_cuda_sync_counter.so), two runs that
#          differ only in their step limit, their difference per step
#   speed  images per second: the trainer (train_throughput) against a plain
#          PyTorch eager loop (eager_baseline.py), SGD with momentum and PAL,
#          batch 100 and 128, ResNet-32, VGG-16 and DenseNet-40; PAL/SGD
#          against the (F+F0+B)/(F+B) floor (pal_step)
#
# --device cpu runs the same stages on the CPU (shorter, --quick), to try
# the script on a machine without a GPU. The stages after build use the
# build folder as it is, so a second call can run `--stages speed` alone.
# Exit status: 0 when every stage ran passed, 1 otherwise.
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
device=cuda:0
stages=env,build,test,train,sync,speed
out=gpu-check-out
bundle=build-gpu-bundle
build=build-gpu
quick=0
python=${PYTHON:-python3}

die() { echo "gpu_check: $*" >&2; exit 2; }

make_bundle() {
  local dir=${1:-build-gpu-bundle}
  mkdir -p "$dir/include" "$dir/share/cmake"
  [ -d /usr/src/googletest ] || die "no /usr/src/googletest (Debian's googletest package)"
  cp -r /usr/src/googletest "$dir/googletest"
  cp -r /usr/include/nlohmann "$dir/include/"
  cp -r /usr/share/cmake/nlohmann_json "$dir/share/cmake/"
  cp /usr/include/zlib.h /usr/include/zconf.h "$dir/include/"
  [ -d /usr/share/datasets/fashion-mnist ] || die "no /usr/share/datasets/fashion-mnist"
  cp -r /usr/share/datasets/fashion-mnist "$dir/fashion-mnist"
  du -sh "$dir"
}

if [ "${1:-}" = bundle ]; then
  make_bundle "${2:-}"
  exit 0
fi

while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --bundle) bundle=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) die "unknown argument '$1' (see the comment at the top of $0)" ;;
  esac
done
case $device in cpu | cuda | cuda:[0-9]*) ;; *) die "--device: cpu, cuda or cuda:N, got '$device'" ;; esac
[ "$device" = cuda ] && device=cuda:0
[ "$device" = cpu ] && quick=1
mkdir -p "$out" "$build"
out=$(cd "$out" && pwd)
build=$(cd "$build" && pwd)
bundle=$(cd "$bundle" 2>/dev/null && pwd || echo "$bundle")
summary=$out/summary.txt
: >"$summary"
# A python3 with torch: PYTHON, else python3, else Debian's.
if ! "$python" -c 'import torch' 2>/dev/null; then
  for p in python3 /usr/bin/python3; do
    if "$p" -c 'import torch' 2>/dev/null; then python=$p; break; fi
  done
fi
jobs=$(nproc 2>/dev/null || echo 2)

note() { echo "$*" | tee -a "$summary"; }
# run_stage NAME FUNCTION: runs it with its output in OUT/NAME.log.
run_stage() {
  local name=$1 start end rc
  case ",$stages," in *",$name,"*) ;; *) return 0 ;; esac
  start=$(date +%s)
  "stage_$name" >"$out/$name.log" 2>&1
  rc=$?
  end=$(date +%s)
  if [ $rc -eq 0 ]; then
    note "$name: ok ($((end - start)) s)"
  else
    note "$name: FAILED, exit $rc ($((end - start)) s); see $out/$name.log"
    failed=1
  fi
}
failed=0

stage_env() {
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
  nvcc --version | tail -2 || true
  "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "devices", torch.cuda.device_count())'
  cmake --version | head -1
  nproc
}

stage_build() {
  local prefix
  prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
  [ -d "$prefix/Torch" ] || prefix=""  # Debian's LibTorch is found without one
  local args=(-S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
              -DGRIDSEARCH_COMPONENTS=trainer "-DCMAKE_PREFIX_PATH=$prefix;$bundle"
              -DGRIDSEARCH_GTEST_SOURCE_DIR="$bundle/googletest" -DCMAKE_CUDA_ARCHITECTURES=90)
  # zlib: the system's headers, else the bundle's with the system's library.
  if [ ! -e /usr/include/zlib.h ] && [ -e "$bundle/include/zlib.h" ]; then
    local lib
    lib=$(ldconfig -p | awk '/libz\.so/ {print $NF; exit}')
    args+=(-DZLIB_INCLUDE_DIR="$bundle/include" -DZLIB_LIBRARY="$lib")
  fi
  echo "LibTorch prefix: ${prefix:-none, the system LibTorch}"
  TORCH_CUDA_ARCH_LIST=9.0 cmake "${args[@]}" || return 1
  cmake --build "$build" -j "$jobs" -- -k 0
}

stage_test() {
  # Trainer and Fashion-MNIST tests read the data set from its Debian path.
  if [ ! -e /usr/share/datasets/fashion-mnist ] && [ -d "$bundle/fashion-mnist" ]; then
    mkdir -p /usr/share/datasets 2>/dev/null && cp -r "$bundle/fashion-mnist" /usr/share/datasets/ ||
      echo "Fashion-MNIST not in /usr/share/datasets: its tests skip"
  fi
  GRIDSEARCH_TEST_DEVICE=$device ctest --test-dir "$build" -L '^torch$' --output-on-failure \
    --timeout 900
  local rc=$?
  ctest --test-dir "$build" -R '^cuda_sync_counter_test$' --output-on-failure || rc=1
  return $rc
}

fashion_path() {
  if [ -d /usr/share/datasets/fashion-mnist ]; then echo /usr/share/datasets/fashion-mnist
  else echo "$bundle/fashion-mnist"; fi
}

# train_job MODEL DATASET_JSON OPTIMIZER BUDGET BATCH FILE [gridsearch-train options]
train_job() {
  local model=$1 dataset=$2 optimizer=$3 budget=$4 batch=$5 file=$6
  shift 6
  printf '{"model": "%s", "dataset": %s, "batch_size": %s, "budget_seconds": %s, "seeds": [1], "optimizers": {"%s": {}}}\n' \
    "$model" "$dataset" "$batch" "$budget" "$optimizer" >"$file.job.json"
  "$build/cli/gridsearch-train" "$file.job.json" --device "$device" --format jsonl "$@" \
    >"$file" 2>"$file.err"
}

stage_train() {
  local models="resnet32 vgg16 densenet40 resnet34 mobilenetv2 efficientnet_b0"
  local budget=5 cifar_size="" fashion_size=""
  if [ $quick -eq 1 ]; then
    models="resnet32"; budget=1; cifar_size=256; fashion_size=1000
  fi
  mkdir -p "$out/train"
  local rc=0 m
  local cifar="{\"name\": \"synthetic\", \"path\": \"cifar10-shape\"${cifar_size:+, \"train_size\": $cifar_size}}"
  local fashion="{\"name\": \"fashion-mnist\", \"path\": \"$(fashion_path)\"${fashion_size:+, \"train_size\": $fashion_size}}"
  for m in $models; do
    train_job "$m" "$cifar" pal "$budget" 128 "$out/train/$m-cifar.jsonl" ||
      { echo "$m on CIFAR-shaped data failed"; rc=1; }
    train_job "$m" "$fashion" pal "$budget" 128 "$out/train/$m-fashion.jsonl" ||
      { echo "$m on Fashion-MNIST failed"; rc=1; }
  done
  "$python" - "$out/train" "$budget" <<'EOF' || rc=1
import glob, json, os, statistics, sys
folder, budget = sys.argv[1], float(sys.argv[2])
print("%-28s %-5s %6s %8s %9s %10s %9s %8s" % ("run", "state", "steps", "train s", "step ms",
                                               "overshoot", "in steps", "test acc"))
bad = 0
for path in sorted(glob.glob(os.path.join(folder, "*.jsonl"))):
    points, result = [], None
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        if "result" in row:
            result = row["result"]
        else:
            points.append(row)
    name = os.path.basename(path)[:-6]
    if result is None:
        print("%-28s no result (see %s.err)" % (name, path)); bad += 1; continue
    times = [p["elapsed_seconds"] for p in points]
    steps = [b - a for a, b in zip([0.0] + times, times)]
    step = statistics.median(steps) if steps else float("nan")
    over = result["train_seconds"] - budget
    print("%-28s %-5s %6d %8.3f %9.2f %9.3fs %9.2f %8.3f" % (
        name, result["state"], result["steps"], result["train_seconds"], 1000 * step, over,
        over / step if step > 0 else float("nan"), result.get("test_accuracy", float("nan"))))
    if result["state"] != "done":
        bad += 1
sys.exit(1 if bad else 0)
EOF
  return $rc
}

stage_sync() {
  local counter="$build/tests/bench/libgs_cuda_sync_counter.so"
  [ -e "$counter" ] || { echo "no $counter"; return 1; }
  mkdir -p "$out/sync"
  local short=20 long=120 model=resnet32 opt steps
  [ $quick -eq 1 ] && { short=2; long=4; model=mlp; }
  for opt in sgd pal; do
    for steps in $short $long; do
      GRIDSEARCH_SYNC_COUNT_FILE="$out/sync/$opt-$steps.json" LD_PRELOAD="$counter" \
        train_job "$model" '{"name": "synthetic", "path": "cifar10-shape"}' "$opt" 600 100 \
        "$out/sync/$opt-$steps.jsonl" --max-steps "$steps" --flush-interval 1000 || return 1
    done
  done
  "$python" - "$out/sync" "$short" "$long" "$device" "$model" <<'EOF'
import json, os, sys
folder, device, model = sys.argv[1], sys.argv[4], sys.argv[5]
short, long = int(sys.argv[2]), int(sys.argv[3])
waits = ["cudaDeviceSynchronize", "cudaStreamSynchronize", "cudaEventSynchronize", "cudaMemcpy",
         "cudaMemcpyAsync_to_host", "cudaMalloc", "cudaFree", "cudaHostAlloc", "cudaFreeHost"]
bad = False
for opt in ("sgd", "pal"):
    a = json.load(open(os.path.join(folder, "%s-%d.json" % (opt, short))))
    b = json.load(open(os.path.join(folder, "%s-%d.json" % (opt, long))))
    if a["calls"] == 0:
        print("%s: the counter saw no CUDA runtime call%s" % (opt, "" if device == "cpu" else
              ": this LibTorch does not reach a shared libcudart; not measured"))
        bad = bad or device != "cpu"
        continue
    print("%s, %s, batch 100: calls per step over %d steps (run of %d minus run of %d)" %
          (opt, model, long - short, long, short))
    for name in waits + ["cudaEventQuery"]:
        per_step = (b[name] - a[name]) / (long - short)
        flag = "  <- host waits inside steps" if name in waits and per_step > 0 else ""
        print("  %-24s %8.3f  (%d in the short run)%s" % (name, per_step, a[name], flag))
        bad = bad or bool(flag)
sys.exit(1 if bad else 0)
EOF
}

stage_speed() {
  local models=resnet32,vgg16,densenet40 seconds=2 rounds=3 batches="100 128" b
  if [ $quick -eq 1 ]; then models=resnet32; seconds=1; rounds=1; batches="16"; fi
  local dev=${device%%:*}
  local rc=0
  for b in $batches; do
    "$build/tests/bench/train_throughput" --device "$dev" --models "$models" --optimizers sgd,pal \
      --batch "$b" --seconds "$seconds" --rounds "$rounds" | tee "$out/trainer-$b.txt" || rc=1
  done
  # On the CPU both run one thread (train_throughput's default there).
  local threads=0
  [ "$dev" = cpu ] && threads=1
  "$python" "$src/tests/bench/eager_baseline.py" --device "$device" --models "$models" \
    --batch "${batches// /,}" --seconds "$seconds" --rounds "$rounds" --threads "$threads" \
    --json "$out/eager.json" || rc=1
  "$build/tests/bench/pal_step" --device "$dev" --models "$models" --batch "${batches%% *}" \
    --rounds "$rounds" | tee "$out/pal_step.txt" || rc=1
  "$python" - "$out" "$dev" <<'EOF' || rc=1
import glob, json, os, sys
folder, dev = sys.argv[1], sys.argv[2]
trainer = {}
for path in glob.glob(os.path.join(folder, "trainer-*.txt")):
    for line in open(path):
        f = line.split()
        if len(f) > 5 and f[0] == dev and f[3].isdigit():
            trainer[(f[1], f[2], int(f[3]))] = float(f[4]) if f[4] != "-" else float("nan")
eager = {(r["model"], r["optimizer"], r["batch"]): r["images_per_second"]
         for r in json.load(open(os.path.join(folder, "eager.json")))["results"]}
print("%-11s %-4s %5s %12s %12s %8s" % ("model", "opt", "batch", "trainer/s", "eager/s", "ratio"))
for key in sorted(eager):
    t = trainer.get(key, float("nan"))
    print("%-11s %-4s %5d %12.1f %12.1f %7.2fx" % (key + (t, eager[key], t / eager[key])))
print("PAL/SGD (images per second of SGD / of PAL), trainer and eager:")
for (m, o, b) in sorted(eager):
    if o != "sgd" or (m, "pal", b) not in eager:
        continue
    t = trainer.get((m, "sgd", b), float("nan")) / trainer.get((m, "pal", b), float("nan"))
    e = eager[(m, "sgd", b)] / eager[(m, "pal", b)]
    print("  %-11s batch %4d  trainer %.3f  eager %.3f" % (m, b, t, e))
EOF
  return $rc
}

note "gpu_check on $(hostname), device $device, $(date -u +%FT%TZ), stages $stages"
for s in env build test train sync speed; do run_stage "$s"; done
for f in train sync speed; do
  [ -s "$out/$f.log" ] && case ",$stages," in *",$f,"*) { echo "== $f"; tail -n 40 "$out/$f.log"; } >>"$summary" ;; esac
done
cat "$summary"
exit $failed
