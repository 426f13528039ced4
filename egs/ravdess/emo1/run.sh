#!/usr/bin/env bash
# RAVDESS, 4 speaker-independent folds, 8 classes: one fold per run (fold 1 by default).
#   ./run.sh                         fold 1
#   ./run.sh --fold 2                another fold; each fold has its own exp dir (exp/fold2)
#   for f in 1 2 3 4; do ./run.sh --fold $f; done      all folds (the data is prepared once)
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

./emo.sh \
    --corpus ravdess \
    --label_set ravdess \
    --fold 1 \
    --skip_adapt true \
    --skip_lalm true \
    "$@"
