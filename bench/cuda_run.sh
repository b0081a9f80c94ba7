#!/usr/bin/env bash
# The GPU checks of strtool in one go, for a machine with one CUDA GPU and ~16 cores
# (written for a lent H100/H200 with a time limit): figures and logs go to OUT.
#
#   bench/cuda_run.sh OUT [TRAIN_SECONDS] [STEPS]
#
# 1. machine facts (GPU, driver, torch, cores) -> OUT/log.txt (every step's stderr too)
# 2. the CUDA tests (tests/engine/test_cuda.py, tests/img2seq/test_cuda_img2seq.py:
#    bf16 / fp16+GradScaler / fp32 training, pinned memory, fp16 resume, one-process
#    torchrun over NCCL, the shipped model and img2seq decoding on the GPU as on the CPU)
#    -> OUT/cuda_tests.log; meanwhile the held-out validation set of MODEL_CARD.md is
#    rendered (the same commands, one process per script group)
# 3. the default model's recipe on the GPU (`configs/default_model.yaml`, bf16 autocast,
#    pinned memory, all cores but two rendering the stream), warm-started from the shipped
#    weights (`--init default`, or INIT) with a fresh stream seed (SYNTH_SEED, default
#    2026), STEPS steps at peak lr LR (default 7e-4),
#    stopped cleanly (SIGTERM, checkpoint at a step boundary) after TRAIN_SECONDS if not
#    done; GPU utilisation sampled by nvidia-smi -> OUT/metrics.jsonl, OUT/dmon.txt
# 4. the run's last checkpoint scored on the validation set on the GPU, and its fp16
#    weights -> OUT/eval.json, OUT/gpu_run_fp16.pt
# 5. bench/stream_speed.py on the GPU: the model step alone vs the stream vs an LMDB
#    -> OUT/stream_speed.txt
# Needs strtool importable (`pip install -e .`, or PYTHONPATH=repo root) and PYTHON
# (default python3) with torch's CUDA build.
set -uo pipefail
OUT=${1:?usage: bench/cuda_run.sh OUT [TRAIN_SECONDS] [STEPS]}
SECS=${2:-280}
STEPS=${3:-7000}
PY=$(command -v "${PYTHON:-python3}")
[[ $PY == /* ]] || PY=$PWD/$PY  # absolute (not resolved: a venv's link): steps cd elsewhere
DEVICE=${DEVICE:-cuda}
LOG=$OUT/log.txt
ST="$PY -m strtool"
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
WORK=$(mktemp -d)
CORES=$(nproc)
WORKERS=$((CORES > 4 ? CORES - 2 : 2))

section() { echo "== $1 ($(date -u +%T))" >> "$LOG"; }
section machine
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
  echo "cores $CORES, stream workers $WORKERS"
  $PY -c "from PIL import features as f; print('Pillow raqm', f.check('raqm'))"
} >> "$LOG" 2>&1

# 2. validation set in the background, CUDA tests in front
(
  cd "$WORK" || exit 1
  for g in LAT ARA BEN HIN CHI JPN KOR; do
    $ST synth words --config synth/heldout_val --fonts heldout --lang $g -n 500 \
      --seed 9001 --height 32 -o val_heldout_$g.lmdb -q > val_$g.log 2>&1 &
  done
  wait
  $ST lmdb merge val_heldout.lmdb val_heldout_*.lmdb -q > merge.log 2>&1
) &
VAL_PID=$!
t0=$(date +%s)
# shellcheck disable=SC2086  # TESTS: several paths
timeout 200 $PY -m pytest -q -p no:cacheprovider -rs \
  ${TESTS:-tests/engine/test_cuda.py tests/img2seq/test_cuda_img2seq.py} > "$OUT/cuda_tests.log" 2>&1
echo "exit $? after $(( $(date +%s) - t0 )) s" >> "$OUT/cuda_tests.log"
wait $VAL_PID
section "validation set"
cat "$WORK"/merge.log "$WORK"/val_*.log >> "$LOG" 2>&1

# 3. the recipe on the GPU
RUN=$WORK/run
nvidia-smi dmon -s u -d 5 > "$OUT/dmon.txt" 2>&1 &
DMON=$!
section train
t0=$(date +%s)
$ST train -c default_model -o "$RUN" --init "${INIT:-default}" --quiet --json \
  --set train.device=$DEVICE --set data.workers=$WORKERS --set data.synth.seed=${SYNTH_SEED:-2026} \
  --set train.steps=$STEPS --set train.lr=${LR:-7e-4} --set train.pct_start=0.05 \
  --set train.val_every=1000 --set train.ckpt_every=1000 \
  --set "data.val=[$WORK/val_heldout.lmdb]" > "$OUT/train.json" 2>> "$LOG" &
TRAIN=$!
( sleep "$SECS"; kill -TERM $TRAIN 2>/dev/null ) &
GUARD=$!
wait $TRAIN
echo "train exit $? after $(( $(date +%s) - t0 )) s" >> "$LOG"
kill $GUARD $DMON 2>/dev/null
cp "$RUN/metrics.jsonl" "$OUT/" 2>> "$LOG"
section eval

# 4. score the last checkpoint on the GPU; fp16 weights back
$ST eval --model "$RUN/last.pt" --data "$WORK/val_heldout.lmdb" --device $DEVICE --json -q \
  > "$OUT/eval.json" 2>> "$LOG"
$ST eval --model default --data "$WORK/val_heldout.lmdb" --device $DEVICE --json -q \
  > "$OUT/eval_shipped.json" 2>> "$LOG"
[ -f "$RUN/last.pt" ] && $PY tools/make_snapshot.py "$RUN/last.pt" "$OUT/gpu_run_fp16.pt" >> "$LOG" 2>&1

# 5. where the time goes on this machine
section "stream speed"
[ "${STREAM_SECS:-90}" -gt 0 ] && timeout "${STREAM_SECS:-90}" $PY bench/stream_speed.py --device $DEVICE --arch h8_small --set model.width=192 \
  --workers $WORKERS --threads 2 --steps 20 --rounds 3 >> "$LOG" 2>&1
section done
