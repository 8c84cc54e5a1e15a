#!/bin/sh
# Train all three networks at once on one CUDA GPU, from packs (medparse_train.pack), each with its own
# sampling workers and a wall-clock schedule (the learning rate decays to zero over MINUTES).
#   sh training/train_all_gpu.sh MINUTES RUN_ROOT PACK_DIR   (PYTHON=... picks the interpreter)
# Writes RUN_ROOT/<config>/{log.jsonl,last_weights.npz,best_weights.npz} and RUN_ROOT/<config>.out.
set -u
MINUTES=${1:-7}
RUN_ROOT=${2:-runs/gpu}
PACK_DIR=${3:-../packs}
cd "$(dirname "$0")"
mkdir -p "$RUN_ROOT"
for spec in heart_mr:2 brain_mr:5 body_ct:6; do
  name=${spec%%:*}
  workers=${spec##*:}
  PYTHONUNBUFFERED=1 "${PYTHON:-python3}" -m medparse_train.train --config "configs/$name.json" --device cuda \
    --pack "$PACK_DIR/$name.npz" --workers "$workers" --threads 2 --time-budget-min "$MINUTES" \
    --val-every 500 --run-dir "$RUN_ROOT/$name" > "$RUN_ROOT/$name.out" 2>&1 &
done
wait
tail -n 3 "$RUN_ROOT"/*.out
