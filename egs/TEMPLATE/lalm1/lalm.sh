#!/usr/bin/env bash
# The staged audio-language-model (LALM) recipe shared by the recipes of every task:
#   --task emo  emotion classes (EMO-RL)       data dirs need utt2emo (text optional)
#   --task cap  emotion captions (MECap-R1)    data dirs need utt2caption
#   --task ov   open-vocabulary emotion words  data dirs need utt2ovlabels
#
#   1 data     local/data.sh -> <datadir>/<set> (the recipe's own data stage; skipped when done)
#   2 targets  automatic SFT targets of the train and dev sets in ${lalm_format}
#              -> ${targets_dir}/<set>/targets
#   3 sft      cold-start SFT -> exp/lalm_<model>_<sft tag>/seed<N>/model (--sft_fraction F: on a
#              split of the train set -> ${targets_dir}/<set>_frac<F>_seed<N>/data)
#   4 grpo     GRPO of each SFT model, one run per ${grpo_configs} entry
#              -> exp/lalm_<model>_<sft tag>_<grpo tag>/seed<N>/model
#   5 decode   greedy decoding of the eval sets, ${nj} jobs -> <model exp>/decode_<set>
#   6 score    the task's scorer -> <model exp>/decode_<set>/scores.json
#   7 report   RESULTS block of README.md
#
# Every unit of work writes <dir>/.done holding its command and the md5 of its inputs; a rerun skips
# units whose command and inputs are unchanged (--force true redoes all). Every variable below is an
# option: ./lalm.sh --task emo --lalm_model mini --seeds "1 2 3" --stage 3.
set -euo pipefail
# The braces make bash read the whole script before running it.
{
SECONDS=0

# General
stage=1              # first stage to run
stop_stage=7         # last stage to run
skip_data=false      # true: leave out stage 1 (the data dirs exist already)
skip_grpo=false      # true: leave out stage 4 (GRPO)
force=false          # redo units even when their .done marker matches (never resuming training)
nj=2                 # parallel decoding jobs
ngpu=0               # GPUs per training job (>1: torchrun data parallel, one process per GPU)
deepspeed=           # SFT and GRPO under DeepSpeed ZeRO-3: its JSON file, e.g. conf/ds_zero3.json
seeds="1"            # one model per seed; results are reported as mean +- std
seed_jobs=1          # seeds trained at once in stages 3-4, each on its share of the CPU cores
python=python3
datadir=data         # the data dirs; local/data.sh gets --output_dir DIR when it is not data
expdir=exp

# Task and data (set by run.sh)
task=emo             # emo, cap or ov
label_set=           # emo: name in emorl.data.labels.LABEL_SETS or a file
train_set=           # SFT and GRPO training set
sft_fraction=        # cold start, e.g. 0.5: SFT on a speaker- and class-stratified fraction of
                     # train_set (one split per seed, emorl.bin.split_labeled, which reads its
                     # utt2emo); GRPO on all of it
dev_set=             # model selection
eval_sets=           # sets decoded and scored
local_data_opts=     # options passed to local/data.sh
score_opts=          # options passed to the scorer (emo: --label_map FILE)

# Model and training
lalm_model=mini      # mini (from scratch, CPU), mini_smollm2 (SmolLM2-135M text model), real
lalm_model_path=     # real: a local Qwen2-Audio-architecture dir; mini_smollm2: the converted dir
lalm_format=esr      # answer, think or esr (<think><content/><acoustics/><summary/></think><answer/>)
sft_config=          # default: conf/lalm/sft_<lalm_model>.yaml
sft_tag=             # default: <sft_config base name>_<lalm_format>
targets_opts=        # options passed to emorl.bin.make_sft_targets
targets_dir=         # default: dump/lalm_targets/<task>_<lalm_format>
grpo_configs=        # GRPO configs run on every SFT model, e.g. "conf/lalm/grpo_eswr.yaml"; empty: none
decode_opts=         # options passed to emorl.bin.decode_lalm (e.g. --batch_size 32)

# Report
report_exp_dir=      # experiments reported; default: expdir

help_message="Usage: $0 --task emo|cap|ov [--stage N] [--stop_stage N] [--lalm_model mini] [--seeds \"1 2 3\"] ..."

# log, run_stage, signature, run_unit
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../stage_utils.sh"
. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

case ${task} in
    emo) [ -n "${label_set}" ] || { log "Error: --task emo needs --label_set"; exit 1; } ;;
    cap|ov) ;;
    *) log "Error: --task must be emo, cap or ov, not '${task}'"; exit 1 ;;
esac
for var in train_set dev_set eval_sets; do
    [ -n "${!var}" ] || { log "Error: --${var} is required"; exit 1; }
done
[ -n "${sft_config}" ] || sft_config=conf/lalm/sft_${lalm_model}.yaml
[ -f "${sft_config}" ] || { log "Error: ${sft_config}: no such SFT config"; exit 1; }
[ -n "${sft_tag}" ] || sft_tag=$(basename "${sft_config}" .yaml)_${lalm_format}${sft_fraction:+_frac${sft_fraction}}
[ -n "${targets_dir}" ] || targets_dir=dump/lalm_targets/${task}_${lalm_format}

resume=true  # SFT continues from its checkpoint, if it matches its options and inputs
[ "${force}" != true ] || resume=false
model_opts="--task ${task} --format ${lalm_format}"
[ "${task}" != emo ] || model_opts+=" --label_set ${label_set}"
sft_exp_of() { echo "${expdir}/lalm_${lalm_model}_${sft_tag}/seed$1"; }
sft_data_of() {  # the SFT training data dir of a seed: train_set, or its --sft_fraction split
    if [ -n "${sft_fraction}" ]; then
        echo "${targets_dir}/${train_set}_frac${sft_fraction}_seed$1/data"
    else
        echo "${datadir}/${train_set}"
    fi
}
grpo_exp_of() {  # grpo_exp_of CONFIG SEED
    echo "${expdir}/lalm_${lalm_model}_${sft_tag}_$(basename "$1" .yaml)/seed$2"
}

if run_stage 1 "${skip_data}"; then
    log "Stage 1: data preparation (local/data.sh ${local_data_opts})"
    prepare_data
fi

if run_stage 2; then
    log "Stage 2: ${lalm_format} SFT targets of ${train_set} ${dev_set} -> ${targets_dir}"
    thresholds=${targets_dir}/acoustic_thresholds.json  # estimated on the training set
    for dset in ${train_set} ${dev_set}; do
        out=${targets_dir}/${dset}
        opts= inputs=${thresholds}  # the dev set reads the thresholds
        [ "${dset}" != "${train_set}" ] || { opts="--estimate_thresholds true"; inputs=; }
        # The files the unit writes are passed through the environment: a file named on the
        # command line is an input of the unit's signature.
        deps="${datadir}/${dset}/wav.scp ${datadir}/${dset}/utt2spk ${datadir}/${dset}/text ${datadir}/${dset}/utt2emo ${datadir}/${dset}/utt2caption ${datadir}/${dset}/utt2ovlabels ${inputs}" \
        run_unit "${out}" env TARGETS="${out}/targets" THRESHOLDS="${thresholds}" bash -c "${decode_cmd} ${out}/log/targets.log \
            ${python} -m emorl.bin.make_sft_targets --task ${task} --format ${lalm_format} \
                --data_dir ${datadir}/${dset} --thresholds \${THRESHOLDS} ${opts} --output \${TARGETS} ${targets_opts}"
    done
fi

if run_stage 3; then
    log "Stage 3: SFT of the ${lalm_model} audio-LM (${sft_config}, ${lalm_format}), seeds ${seeds}"
    sft_opts=
    [ -z "${lalm_model_path}" ] || sft_opts="--model_path ${lalm_model_path}"
    [ -z "${deepspeed}" ] || sft_opts+=" --deepspeed ${deepspeed}"
    for seed in ${seeds}; do
        exp=$(sft_exp_of "${seed}")
        sft_data=$(sft_data_of "${seed}")
        if [ -n "${sft_fraction}" ]; then  # the split's unit dir holds its data dir and the rest
            split_dir=$(dirname "${sft_data}")
            # The split copies every table of train_set: each is an input.
            deps="$(find "${datadir}/${train_set}" -maxdepth 1 -type f | sort)" \
            run_unit "${split_dir}" ${python} -m emorl.bin.split_labeled \
                --data_dir ${datadir}/${train_set} --fraction ${sft_fraction} --seed ${seed} \
                --labeled_dir ${sft_data} --unlabeled_dir ${split_dir}/rest
        fi
        # The targets file covers all of train_set; train_sft reads those of its data dir.
        deps="${targets_dir}/${train_set}/targets ${targets_dir}/${dev_set}/targets ${sft_data}/wav.scp ${datadir}/${dev_set}/wav.scp ${deepspeed}" \
        start_job "${seed_jobs}" run_unit "${exp}" bash -c "${train_cmd} --gpu ${ngpu} ${exp}/log/train.log \
            $(train_launcher) emorl.bin.train_sft --config ${sft_config} ${model_opts} \
                --model ${lalm_model} ${sft_opts} \
                --train_data ${sft_data} --train_targets ${targets_dir}/${train_set}/targets \
                --dev_data ${datadir}/${dev_set} --dev_targets ${targets_dir}/${dev_set}/targets \
                --exp_dir ${exp} --seed ${seed} --resume ${resume}"
    done
    wait_jobs
fi

if run_stage 4 "${skip_grpo}" && [ -n "${grpo_configs}" ]; then
    log "Stage 4: GRPO of the SFT models (${grpo_configs}), seeds ${seeds}"
    grpo_opts=
    [ -z "${deepspeed}" ] || grpo_opts="--deepspeed ${deepspeed}"
    for grpo_config in ${grpo_configs}; do
        for seed in ${seeds}; do
            init=$(sft_exp_of "${seed}")
            exp=$(grpo_exp_of "${grpo_config}" "${seed}")
            [ -f "${init}/model/task.json" ] || { log "Error: ${init}/model missing; run stage 3 first"; exit 1; }
            deps="$(find "${init}/model" -type f | sort) ${datadir}/${train_set}/wav.scp ${datadir}/${train_set}/utt2emo ${datadir}/${train_set}/utt2caption ${datadir}/${train_set}/utt2ovlabels ${deepspeed}" \
            start_job "${seed_jobs}" run_unit "${exp}" bash -c "${train_cmd} --gpu ${ngpu} ${exp}/log/train.log \
                $(train_launcher) emorl.bin.train_grpo --config ${grpo_config} --init_model ${init}/model \
                    --train_data ${datadir}/${train_set} --exp_dir ${exp} --seed ${seed} --resume ${resume} \
                    ${grpo_opts}"
        done
    done
    wait_jobs
fi

model_exps() {  # the trained models to decode: the SFT and GRPO models of every seed
    local seed grpo_config
    for seed in ${seeds}; do sft_exp_of "${seed}"; done
    [ "${skip_grpo}" = true ] && return 0
    for grpo_config in ${grpo_configs}; do
        for seed in ${seeds}; do grpo_exp_of "${grpo_config}" "${seed}"; done
    done
}

if run_stage 5; then
    log "Stage 5: decode ${eval_sets} with ${nj} jobs"
    for exp in $(model_exps); do
        [ -f "${exp}/model/task.json" ] || { log "Error: ${exp}/model missing; run stage 3 first"; exit 1; }
        for dset in ${eval_sets}; do
            out=${exp}/decode_${dset}
            deps="$(find "${exp}/model" -type f | sort) ${datadir}/${dset}/wav.scp" \
            run_unit "${out}" bash -c "${decode_cmd} JOB=1:${nj} ${out}/log/decode.JOB.log \
                ${python} -m emorl.bin.decode_lalm --model_dir ${exp}/model --data_dir ${datadir}/${dset} \
                    --out_dir ${out} --nj ${nj} --job JOB ${decode_opts} \
                && ${python} -m emorl.bin.decode_lalm --model_dir ${exp}/model --data_dir ${datadir}/${dset} \
                    --out_dir ${out} --nj ${nj} --merge true"
        done
    done
fi

if run_stage 6; then
    log "Stage 6: score ${eval_sets} (${task})"
    for exp in $(model_exps); do
        for dset in ${eval_sets}; do
            ${python} -m emorl.bin.score_lalm --task "${task}" --data_dir "${datadir}/${dset}" \
                --decode_dir "${exp}/decode_${dset}" ${score_opts}
        done
    done
fi

if run_stage 7; then
    log "Stage 7: report -> README.md"
    ${python} -m emorl.bin.report --exp_dir "${report_exp_dir:-${expdir}}" --readme README.md
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
exit 0
}
