#!/usr/bin/env bash
# CASIA, leave-one-speaker-out (4 folds), 6 classes: one fold per run (fold 1 by default).
#   ./run.sh                         fold 1
#   ./run.sh --fold 2                another fold; each fold has its own exp dir (exp/fold2)
#   for f in 1 2 3 4; do ./run.sh --fold $f; done      all folds (the data is prepared once)
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

# Stage 4 runs with the few-labels protocol only (--labeled_fraction, see README.md).
skip_adapt=true
adapt_configs="conf/adapt/target_norm.yaml conf/adapt/bgrpo.yaml conf/adapt/bgrpo_self.yaml conf/adapt/bgrpo_teacher.yaml conf/adapt/pseudo_label.yaml conf/adapt/entropy_min.yaml"
[[ " $* " != *" --labeled_fraction "* ]] || skip_adapt=false

./emo.sh \
    --corpus casia \
    --label_set casia \
    --fold 1 \
    --skip_adapt "${skip_adapt}" \
    --adapt_configs "${adapt_configs}" \
    --skip_lalm true \
    "$@"
