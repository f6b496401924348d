#!/usr/bin/env bash
# Installs the Debian 12 packages gridsearch needs to build, test and run.
# Uses sudo when not root. Safe to run repeatedly: installed packages are skipped.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev
  libopenblas0-pthread   # Debian's LibTorch calls libblas.so.3: 10-20x faster than the reference BLAS
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsqlite3-dev sqlite3
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev
  zlib1g-dev
  dataset-fashion-mnist
  gnuplot-nox
  clang libclang-rt-14-dev   # the spec fuzzer (libFuzzer)
  openssl                    # TLS certificates in the security tests
  slurm-wlm munge            # a real one-node Slurm in the Slurm tests (ctest -L slurm)
  python3                    # users' own training programs in the program tests
  python3-torch              # the PyTorch program example (ctest -L python-torch)
  libcpp-httplib-dev libssl-dev   # the dashboard's HTTP(S) server
  prometheus-cpp-dev         # /metrics (its core library: registry and text format)
  libjs-chart.js             # the dashboard's charts, embedded in the binary
  chromium                   # the dashboard's browser test (headless)
)
# Node.js and npm drive the browser test (playwright-core, pinned by
# tests/web/package-lock.json). A Node.js from elsewhere that brings its own
# npm is kept; otherwise Debian's.
if ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The browser test's npm packages, exactly as the lockfile pins them.
install_npm_packages() {
  local lock=tests/web/package-lock.json stamp=tests/web/node_modules/.installed-lock.json
  if [ -f "$lock" ] && ! cmp -s "$lock" "$stamp"; then
    echo "install-deps: npm ci in tests/web"
    (cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
    cp "$lock" "$stamp"
  fi
}
cd "$(dirname "$0")/.."

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  install_npm_packages
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-deps: not root and no sudo; install these packages: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_npm_packages
