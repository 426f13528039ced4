#!/usr/bin/env bash
# OV-MERD+ open-vocabulary emotion recognition (AffectGPT-RL): cold-start SFT of an audio-language
# model on the clips' emotion words, then GRPO with the emotion-wheel (EW) F1 reward; greedy
# decoding and EW scoring. OV-MERD+ has no official split: stage 1 cuts it into 5 folds
# (ovmerdplus_fold<k>_{train,dev,test}, see emorl/data/corpora/mer2023.py); a run trains and tests
# one fold and the report gathers the folds. Every stage is lalm.sh's (a link to
# egs/TEMPLATE/lalm1/lalm.sh): 1 data, 2 SFT targets, 3 SFT, 4 GRPO, 5 decode, 6 score, 7 report.
#   ./run.sh --lalm_model_path /models/Qwen2-Audio-7B-Instruct                 fold 1
#   for f in 1 2 3 4 5; do ./run.sh --fold $f --lalm_model_path ...; done      every clip tested once
#   ./run.sh --lalm_format think --grpo_configs conf/lalm/grpo_ew_think.yaml ...   with a think step
set -euo pipefail

fold=1                                 # the OV-MERD+ fold trained and tested (1-5)
lalm_format=answer                     # answer (no think step) or think
sft_config=conf/lalm/sft_real.yaml

args=()
while [ $# -gt 0 ]; do
    case $1 in
        --fold) fold=$2; shift 2 ;;
        --lalm_format) lalm_format=$2; shift 2 ;;
        --sft_config) sft_config=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done

# Each fold has its own models, named with the fold (exp/lalm_real_sft_real_answer_fold1/seed1,
# exp/lalm_real_sft_real_answer_fold1_grpo_ew/seed1): the report reads the fold token and shows
# the folds of an experiment as its rows, with their mean. Each fold has its own SFT targets: the
# acoustic thresholds of the think format are estimated on the fold's training set.
./lalm.sh \
    --task ov \
    --local_data_opts "--ov_folds 5" \
    --train_set "ovmerdplus_fold${fold}_train" \
    --dev_set "ovmerdplus_fold${fold}_dev" \
    --eval_sets "ovmerdplus_fold${fold}_test" \
    --lalm_model real \
    --lalm_format "${lalm_format}" \
    --sft_config "${sft_config}" \
    --sft_tag "$(basename "${sft_config}" .yaml)_${lalm_format}_fold${fold}" \
    --targets_dir "dump/lalm_targets/fold${fold}/ov_${lalm_format}" \
    --grpo_configs "conf/lalm/grpo_ew.yaml" \
    "${args[@]}"
