#!/usr/bin/env bash
# MER2023, official train (with a held-out dev) and test sets, 6 classes.
#   ./run.sh
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

./emo.sh \
    --corpus mer2023 \
    --label_set mer2023 \
    --train_set train \
    --dev_set dev \
    --eval_sets "test1 test2" \
    --skip_adapt true \
    --skip_lalm true \
    "$@"
