#!/usr/bin/env bash
# M3ED, official series-independent train/dev/test, 7 classes.
#   ./run.sh
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

./emo.sh \
    --corpus m3ed \
    --label_set m3ed \
    --train_set train \
    --dev_set dev \
    --eval_sets "test" \
    --local_data_opts "--skip_bad_media true" \
    --skip_adapt true \
    --skip_lalm true \
    "$@"
