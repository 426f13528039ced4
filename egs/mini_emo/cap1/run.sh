#!/usr/bin/env bash
# MECap-R1 on the offline mini corpus: the mini audio-LM learns to caption the emotion of
# synthetic speech (cold-start SFT on the reference captions of utt2caption), then Emo-GRPO
# (every seed) and its ablations, one GRPO run per config (the first seed only, by default).
# Stages: lalm.sh (1 data .. 7 report).
#   ./run.sh                           the whole recipe at the default size
#   ./run.sh --size ci                 a few times smaller corpus
#   ./run.sh --ablation_seeds "1 2 3"  the ablations with every seed too
#   ./run.sh --stage 4                 from GRPO on
set -euo pipefail

size=default          # mini corpus size: tiny, ci, default or large
seeds="1 2 3"         # SFT and Emo-GRPO
ablation_seeds="1"    # the ablations (a subset of seeds); empty: none
grpo_main=conf/lalm/grpo_emo.yaml
grpo_ablations="conf/lalm/grpo_emotion_only.yaml conf/lalm/grpo_semantic_only.yaml conf/lalm/grpo_no_consistency.yaml"

args=()
while [ $# -gt 0 ]; do
    case $1 in
        --size) size=$2; shift 2 ;;
        --seeds) seeds=$2; shift 2 ;;
        --ablation_seeds) ablation_seeds=$2; shift 2 ;;
        --grpo_main) grpo_main=$2; shift 2 ;;
        --grpo_ablations) grpo_ablations=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done

lalm() {
    ./lalm.sh \
        --task cap \
        --train_set src_train \
        --dev_set src_dev \
        --eval_sets "src_dev src_test" \
        --local_data_opts "--size ${size}" \
        --lalm_model mini \
        --lalm_format answer \
        --sft_config conf/lalm/sft_mini.yaml \
        "$@" \
        "${args[@]}"
}

lalm --seeds "${seeds}" --grpo_configs "${grpo_main}"
if [ -n "${ablation_seeds}" ] && [ -n "${grpo_ablations}" ]; then
    lalm --seeds "${ablation_seeds}" --grpo_configs "${grpo_ablations}"
fi
