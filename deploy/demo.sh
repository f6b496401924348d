#!/usr/bin/env bash
# Installs what gridsearch needs, builds it and runs the quick Fashion-MNIST
# sweep (SGD, Adam and RMSProp grids x 2 seeds, an MLP, 5 s per job) with two
# local workers: a progress bar, then the ranking table.
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh
./deploy/build.sh gridsearch
mkdir -p build/demo
db=build/demo/fashion_mnist_quick.db
rm -f "$db" "$db-wal" "$db-shm" "$db.workers.log"
./build/cli/gridsearch run examples/fashion_mnist_quick.json --workers 2 --db "$db"
echo
echo "Results are in $db; for example:"
echo "  ./build/cli/gridsearch results --db $db --format markdown"
