#!/usr/bin/env bash
# AffectGPT-RL on the offline mini corpus: the mini audio-LM lists the emotion words of synthetic
# speech (cold-start SFT on utt2ovlabels), then GRPO with the emotion-wheel (EW) reward. Two output
# formats, each with its own SFT model: answer only, and <think> then answer. Per format, GRPO with
# the EW reward alone runs on every seed; the ablations (answer: each length penalty; think: the
# format reward, then also the dual-EW and think-answer alignment rewards) on the first seed only,
# by default. Stages: lalm.sh (1 data .. 7 report), run once per format and seed set.
#   ./run.sh                           the whole recipe at the default size
#   ./run.sh --size ci                 a few times smaller corpus
#   ./run.sh --size large              four times larger
#                                      (README, "A larger corpus": how to keep it beside the default)
#   ./run.sh --ablation_seeds "1 2 3"  the ablations with every seed too
#   ./run.sh --formats think           one format only
#   ./run.sh --stage 4                 from GRPO on
set -euo pipefail

size=default          # mini corpus size: tiny, ci, default or large
formats="answer think"
seeds="1 2 3"         # SFT and GRPO with the EW reward
ablation_seeds="1"    # the ablations (a subset of seeds); empty: none
grpo_main=conf/lalm/grpo_ew.yaml
declare -A grpo_ablations=(
    [answer]="conf/lalm/grpo_ew_p1.yaml conf/lalm/grpo_ew_p2.yaml conf/lalm/grpo_ew_p3.yaml"
    [think]="conf/lalm/grpo_ew_format.yaml conf/lalm/grpo_ew_format_dual.yaml"
)

args=()
while [ $# -gt 0 ]; do
    case $1 in
        --size) size=$2; shift 2 ;;
        --formats) formats=$2; shift 2 ;;
        --seeds) seeds=$2; shift 2 ;;
        --ablation_seeds) ablation_seeds=$2; shift 2 ;;
        --grpo_main) grpo_main=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done

lalm() {  # lalm FORMAT lalm.sh-options...
    local format=$1; shift
    ./lalm.sh \
        --task ov \
        --train_set src_train \
        --dev_set src_dev \
        --eval_sets "src_dev src_test" \
        --local_data_opts "--size ${size}" \
        --lalm_model mini \
        --lalm_format "${format}" \
        --sft_config conf/lalm/sft_mini.yaml \
        "$@" \
        "${args[@]}"
}

for format in ${formats}; do
    lalm "${format}" --seeds "${seeds}" --grpo_configs "${grpo_main}"
    if [ -n "${ablation_seeds}" ]; then
        lalm "${format}" --seeds "${ablation_seeds}" --grpo_configs "${grpo_ablations[${format}]}"
    fi
done
