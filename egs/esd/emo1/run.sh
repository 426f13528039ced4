#!/usr/bin/env bash
# ESD, the official split: train on one language's part, test on both (within and across languages).
#   ./run.sh                   train on English (en_train), test on en_test and zh_test
#   ./run.sh --lang zh         train on Mandarin (exp/zh)
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

lang=en     # training language: en or zh

args=()
while [ $# -gt 0 ]; do
    if [ "$1" = --lang ]; then lang=$2; shift 2; else args+=("$1"); shift; fi
done

./emo.sh \
    --corpus esd \
    --label_set esd \
    --train_set "${lang}_train" \
    --dev_set "${lang}_dev" \
    --eval_sets "en_test zh_test" \
    --local_data_opts "--languages en,zh" \
    --expdir "exp/${lang}" \
    --skip_adapt true \
    --skip_lalm true \
    "${args[@]}"
