#!/usr/bin/env bash
# Cross-corpus: train the supervised baseline on IEMOCAP (4 classes, Sessions 1-4), evaluate on
# IEMOCAP Session 5 (in-corpus) and on MELD test (cross-corpus), whose labels are scored through
# conf/label_map_meld_to_iemocap4.txt (disgust, fear and surprise are reported, not scored).
# Stage 4 adapts the IEMOCAP model on unlabeled MELD train (meld_train; its labels feed only the
# pseudo-label accuracy of train_log.csv).
#   ./run.sh
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

./emo.sh \
    --corpus iemocap \
    --label_set iemocap4 \
    --eval_label_set meld \
    --train_set iemocap_train \
    --dev_set iemocap_dev \
    --eval_sets "iemocap_test meld_test" \
    --score_opts "--label_map conf/label_map_meld_to_iemocap4.txt" \
    --unlabeled_set meld_train \
    --adapt_configs "conf/adapt/target_norm.yaml conf/adapt/bgrpo.yaml conf/adapt/bgrpo_self.yaml conf/adapt/bgrpo_teacher.yaml conf/adapt/pseudo_label.yaml conf/adapt/entropy_min.yaml" \
    --skip_lalm true \
    "$@"
