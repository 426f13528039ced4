#!/usr/bin/env bash
# EmotionTalk, official group split, 7 classes.
#   ./run.sh
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

./emo.sh \
    --corpus emotiontalk \
    --label_set emotiontalk \
    --train_set train \
    --dev_set dev \
    --eval_sets "test" \
    --local_data_opts "--captions false" \
    --skip_adapt true \
    --skip_lalm true \
    "$@"
