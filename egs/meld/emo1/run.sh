#!/usr/bin/env bash
# MELD, official train/dev/test, 7 classes.
#   ./run.sh
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

# Stage 4 runs with the few-labels protocol only (--labeled_fraction, see README.md).
skip_adapt=true
adapt_configs="conf/adapt/target_norm.yaml conf/adapt/bgrpo.yaml conf/adapt/bgrpo_self.yaml conf/adapt/bgrpo_teacher.yaml conf/adapt/pseudo_label.yaml conf/adapt/entropy_min.yaml"
[[ " $* " != *" --labeled_fraction "* ]] || skip_adapt=false

./emo.sh \
    --corpus meld \
    --label_set meld \
    --train_set train \
    --dev_set dev \
    --eval_sets "dev test" \
    --skip_adapt "${skip_adapt}" \
    --adapt_configs "${adapt_configs}" \
    --skip_lalm true \
    "$@"
