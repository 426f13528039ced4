#!/usr/bin/env bash
# MELD, official train/dev/test, 7 classes.
#   ./run.sh
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

./emo.sh \
    --corpus meld \
    --label_set meld \
    --train_set train \
    --dev_set dev \
    --eval_sets "dev test" \
    --skip_adapt true \
    --skip_lalm true \
    "$@"
