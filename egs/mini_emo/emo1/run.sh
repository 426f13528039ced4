#!/usr/bin/env bash
# The offline mini recipe: synthetic emotional speech in two acoustic domains (source, target).
# Stage 3 trains on the source domain; stage 4 adapts to the unlabeled target domain; stages 5-7
# fine-tune the mini audio-language model on the source domain (lalm.sh --task emo) and decode it.
#   ./run.sh                          the whole recipe at the default size
#   ./run.sh --size ci                a few times smaller (what CI runs)
#   ./run.sh --size large             four times larger
#                                     (README, "A larger corpus": how to keep it beside the default)
#   ./run.sh --upstream fbank --stage 2  another upstream, from its features on
#   ./run.sh --target_shift intensity,prior   harder targets (emorl/data/corpora/mini_emo.py):
#                                     data/, dump/ and exp/ under target_<shifts>/, reported with
#                                     the rest
#   ./run.sh --labeled_fraction 0.1   few labels in domain: stage 3 also trains on 10% of src_train,
#                                     stage 4 adapts that model on the rest (labels left out); the
#                                     conf/adapt/*_noren.yaml configs adapt without renormalising
#   ./run.sh --emorl_grid true        EMO-RL's whole comparison after the main one: SFT, GRPO with
#                                     the accuracy reward and GRPO with ESWR (--grpo_grid), for each
#                                     of the answer, think and esr output formats (--grid_formats)
set -euo pipefail
# The braces make bash read the whole script before running it (it may be edited meanwhile).
{

size=default          # mini corpus size: tiny, ci, default or large
target_shift=channel  # target domain shifts: channel, intensity, prior, comma-separated, or none
# Audio-LM (stages 5-7)
lalm_model=mini       # mini (text model from scratch); lalm.sh --lalm_model lists the others
sft_config=           # default: conf/lalm/sft_<lalm_model>.yaml
seed_jobs=3           # seeds trained at once (SFT, GRPO): all three, one CPU thread each on 2 cores
grpo_main=conf/lalm/grpo_eswr.yaml  # EMO-RL's main comparison: SFT against this GRPO, format esr
emorl_grid=false      # true: also the EMO-RL grid, every --grpo_grid config on every format
grpo_grid="conf/lalm/grpo_acc.yaml conf/lalm/grpo_eswr.yaml"
grid_formats="answer think esr"

args=()
while [ $# -gt 0 ]; do
    case $1 in
        --size) size=$2; shift 2 ;;
        --target_shift) target_shift=$2; shift 2 ;;
        --lalm_model) lalm_model=$2; shift 2 ;;
        --sft_config) sft_config=$2; shift 2 ;;
        --seed_jobs) seed_jobs=$2; shift 2 ;;
        --grpo_main) grpo_main=$2; shift 2 ;;
        --emorl_grid) emorl_grid=$2; shift 2 ;;
        --grpo_grid) grpo_grid=$2; shift 2 ;;
        --grid_formats) grid_formats=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
data_opts="--size ${size}"
shift_opts=()
if [ "${target_shift}" != channel ]; then
    # Another corpus: its data dirs, features and models live apart; stage 8 reports every exp/ dir.
    tag=target_$(echo "${target_shift}" | tr ',' '_')
    data_opts+=" --target_shift ${target_shift}"
    shift_opts=(--datadir "data/${tag}" --dumpdir "dump/${tag}" --expdir "exp/${tag}" --report_exp_dir exp)
fi

emo() {
    ./emo.sh \
        --corpus mini_emo \
        --label_set mini_emo \
        --train_set src_train \
        --dev_set src_dev \
        --eval_sets "src_test tgt_dev tgt_test" \
        --unlabeled_set tgt_train \
        --local_data_opts "${data_opts}" \
        --upstream whisper_tiny.en \
        --seeds "1 2 3" \
        --adapt_jobs 2 \
        --adapt_configs "conf/adapt/target_norm.yaml conf/adapt/bgrpo.yaml conf/adapt/bgrpo_self.yaml conf/adapt/bgrpo_teacher.yaml conf/adapt/bgrpo_keepneg.yaml conf/adapt/pseudo_label.yaml conf/adapt/entropy_min.yaml" \
        "${shift_opts[@]}" "$@" "${args[@]}"
}
lalm="--lalm_model ${lalm_model} --sft_config ${sft_config:-conf/lalm/sft_${lalm_model}.yaml}"
lalm+=" --seed_jobs ${seed_jobs}"
emo --lalm_opts "${lalm} --lalm_format esr --grpo_configs ${grpo_main}"
if [ "${emorl_grid}" = true ]; then
    # Every unit already done (stages 1-4, the main comparison) is skipped; stage 8 reports all.
    for format in ${grid_formats}; do
        for grpo in ${grpo_grid}; do
            emo --lalm_opts "${lalm} --lalm_format ${format} --grpo_configs ${grpo}"
        done
    done
fi
exit 0
}
