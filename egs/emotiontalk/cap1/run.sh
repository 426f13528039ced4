#!/usr/bin/env bash
# EmotionTalk captioning: data preparation only for now.
# Stage 1 prepares and validates the data dirs; the captioning stages (MECap-R1) come with the
# audio-language model issue.
#   ./run.sh
set -euo pipefail

./emo.sh \
    --corpus emotiontalk \
    --label_set emotiontalk \
    --train_set train \
    --dev_set dev \
    --eval_sets "test" \
    --local_data_opts "--caption_aspect overall" \
    --stop_stage 1 \
    "$@"
