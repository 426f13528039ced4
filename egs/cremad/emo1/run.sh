#!/usr/bin/env bash
# CREMA-D, 5 speaker-independent folds, 6 classes: one fold per run (fold 1 by default).
#   ./run.sh                         fold 1
#   ./run.sh --fold 2                another fold; each fold has its own exp dir (exp/fold2)
#   for f in 1 2 3 4 5; do ./run.sh --fold $f; done      all folds (the data is prepared once)
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

./emo.sh \
    --corpus cremad \
    --label_set cremad \
    --fold 1 \
    --skip_adapt true \
    --skip_lalm true \
    "$@"
