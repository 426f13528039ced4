#!/usr/bin/env bash
# IEMOCAP, leave-one-session-out: one fold per run (fold 1: test on Session 1, train on 2-5).
#   ./run.sh                                  4 classes, fold 1
#   ./run.sh --fold 3                         another fold (exp/iemocap4/fold3; --fold is emo.sh's)
#   for f in 1 2 3 4 5; do ./run.sh --fold $f; done      all five folds (data is prepared once)
#   ./run.sh --label_set iemocap6             6 classes (its own data, dump/ and exp/ dirs)
#   ./run.sh --improvised_only true           the improvised dialogs only
#   ./run.sh --upstream whisper_base --stage 2             any emo.sh option passes through
set -euo pipefail

label_set=iemocap4      # iemocap4 (neutral, happy+excited, angry, sad) or iemocap6
improvised_only=false   # true: improvised dialogs only

args=()
while [ $# -gt 0 ]; do
    case $1 in
        --label_set) label_set=$2; shift 2 ;;
        --improvised_only) improvised_only=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
# Data, features and models of each protocol live apart, so that switching protocols never mixes
# features of one with the data dirs of another.
tag=${label_set}
[ "${improvised_only}" = true ] && tag=${tag}_impro

# Stage 4 runs with the few-labels protocol only (--labeled_fraction, see README.md).
skip_adapt=true
adapt_configs="conf/adapt/target_norm.yaml conf/adapt/bgrpo.yaml conf/adapt/bgrpo_self.yaml conf/adapt/bgrpo_teacher.yaml conf/adapt/pseudo_label.yaml conf/adapt/entropy_min.yaml"
[[ " ${args[*]} " != *" --labeled_fraction "* ]] || skip_adapt=false

./emo.sh \
    --corpus iemocap \
    --label_set "${label_set}" \
    --fold 1 \
    --local_data_opts "--label_set ${label_set} --improvised_only ${improvised_only}" \
    --dumpdir "dump/${tag}" \
    --expdir "exp/${tag}" \
    --skip_adapt "${skip_adapt}" \
    --adapt_configs "${adapt_configs}" \
    --skip_lalm true \
    "${args[@]}"
