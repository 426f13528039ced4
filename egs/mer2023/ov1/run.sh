#!/usr/bin/env bash
# OV-MERD+ open-vocabulary emotion recognition: data preparation only for now.
# Stage 1 prepares and validates the data dirs; the open-vocabulary stages (AffectGPT-RL) come with the
# audio-language model issue.
#   ./run.sh
set -euo pipefail

./emo.sh \
    --corpus mer2023 \
    --label_set mer2023 \
    --train_set ovmerdplus \
    --eval_sets "ovmerdplus" \
    --stop_stage 1 \
    "$@"
