#!/usr/bin/env bash
# MSP-Podcast, official partitions, 8 classes.
#   ./run.sh
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

./emo.sh \
    --corpus msppodcast \
    --label_set msppodcast \
    --train_set train \
    --dev_set dev \
    --eval_sets "test1 test2" \
    --local_data_opts "--label_set msppodcast" \
    --skip_adapt true \
    --skip_lalm true \
    "$@"
