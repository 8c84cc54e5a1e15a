#!/bin/sh
# Train several networks at once on one CUDA GPU, from packs (medparse_train.pack), each with its own
# sampling workers and a wall-clock schedule (the learning rate decays to zero over MINUTES).
#   sh training/train_all_gpu.sh MINUTES RUN_ROOT PACK_DIR   (PYTHON=... picks the interpreter)
# NETWORKS lists name:workers[:lr] (default "heart_mr:2 brain_mr:5 body_ct:6", the config's rate). A network
# whose PACK_DIR/init/<name>.npz exists fine-tunes from those weights with a fresh optimiser (float16 there
# is fine: the copy into the model converts). DEVICE=cpu runs the same thing as a smoke test.
# Writes RUN_ROOT/<name>/{log.jsonl,last_weights.npz} and RUN_ROOT/<name>.out.
set -u
MINUTES=${1:-7}
RUN_ROOT=${2:-runs/gpu}
PACK_DIR=${3:-../packs}
NETWORKS=${NETWORKS:-heart_mr:2 brain_mr:5 body_ct:6}
cd "$(dirname "$0")"
mkdir -p "$RUN_ROOT"
# one BLAS thread per sampling worker: pools sized to the machine made a step 4x slower (see README)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONUNBUFFERED=1
for spec in $NETWORKS; do
  name=${spec%%:*}
  rest=${spec#*:}
  workers=${rest%%:*}
  case $workers in
    '' | *[!0-9]*) echo "NETWORKS entry '$spec': expected name:workers[:lr], e.g. body_ct:9:0.0008" >&2; exit 2 ;;
  esac
  lr=""
  [ "$rest" != "$workers" ] && lr="--lr ${rest#*:}"
  init=""
  [ -f "$PACK_DIR/init/$name.npz" ] && init="--init-weights $PACK_DIR/init/$name.npz"
  # shellcheck disable=SC2086 # $lr and $init are empty or two words
  "${PYTHON:-python3}" -m medparse_train.train --config "configs/$name.json" --device "${DEVICE:-cuda}" \
    --pack "$PACK_DIR/$name.npz" --workers "$workers" --threads 2 --time-budget-min "$MINUTES" \
    --val-every 0 $lr $init --run-dir "$RUN_ROOT/$name" > "$RUN_ROOT/$name.out" 2>&1 &
done
wait
for f in "$RUN_ROOT"/*.out; do echo "== $f"; tail -n 3 "$f"; done
