#!/usr/bin/env bash
# CaFE, 6 speaker-independent folds (one man, one woman each), 7 classes: one fold per run (fold 1 by default).
#   ./run.sh                         fold 1
#   ./run.sh --fold 2                another fold; each fold has its own exp dir (exp/fold2)
#   for f in 1 2 3 4 5 6; do ./run.sh --fold $f; done      all folds (the data is prepared once)
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

fold=1         # which fold: 1 2 3 4 5 6

args=()
while [ $# -gt 0 ]; do
    if [ "$1" = --fold ]; then fold=$2; shift 2; else args+=("$1"); shift; fi
done

./emo.sh \
    --corpus cafe \
    --label_set cafe \
    --train_set "fold${fold}_train" \
    --dev_set "fold${fold}_dev" \
    --eval_sets "fold${fold}_test" \
    --expdir "exp/fold${fold}" \
    --report_exp_dir exp \
    --skip_stages "4 5 6 7" \
    "${args[@]}"
