#!/usr/bin/env bash
# CASIA, leave-one-speaker-out (4 folds), 6 classes: one fold per run (fold 1 by default).
#   ./run.sh                         fold 1
#   ./run.sh --fold 2                another fold; each fold has its own exp dir (exp/fold2)
#   for f in 1 2 3 4; do ./run.sh --fold $f; done      all folds (the data is prepared once)
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

fold=1         # which fold: 1 2 3 4

args=()
while [ $# -gt 0 ]; do
    if [ "$1" = --fold ]; then fold=$2; shift 2; else args+=("$1"); shift; fi
done

./emo.sh \
    --corpus casia \
    --label_set casia \
    --train_set "fold${fold}_train" \
    --dev_set "fold${fold}_dev" \
    --eval_sets "fold${fold}_test" \
    --expdir "exp/fold${fold}" \
    --report_exp_dir exp \
    --skip_stages "4 5 6 7" \
    "${args[@]}"
