#!/usr/bin/env bash
# The staged emotion-recognition recipe shared by every egs/<corpus>/emo1/run.sh.
#
#   1 data        local/data.sh -> <datadir>/<set> (validated Kaldi data dirs; datadir: data)
#   2 features    upstream encoder -> dump/<upstream>/<set>/feats.scp
#   3 baseline    supervised classifier on the train set; decode + score the eval sets
#   4 adaptation  B-GRPO (and its comparisons) on the unlabeled set; decode + score
#   5 lalm_sft    audio-language model: SFT targets + cold-start SFT   (./lalm.sh --task emo 2-3)
#   6 lalm_grpo   audio-language model: GRPO, lalm_opts --grpo_configs  (./lalm.sh --task emo 4)
#   7 lalm_decode audio-language model: decode + score                 (./lalm.sh --task emo 5-6)
#   8 report      RESULTS block of README.md, plots
#
# Every unit of work writes <dir>/.done holding the command that made it and the signature of its
# inputs (configs, data files, and the fingerprints of the feature dumps and models it reads; see
# ../stage_utils.sh); a rerun skips units whose command and inputs are unchanged, and redoes the
# others. --force true redoes all, from scratch (training never resumes a checkpoint then).
set -euo pipefail
# The braces make bash read the whole script before running it, so that editing emo.sh while a
# recipe runs cannot change the running copy.
{

# log, run_stage, signature, run_unit
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../stage_utils.sh"
SECONDS=0

# General
stage=1              # first stage to run
stop_stage=8         # last stage to run
skip_adapt=false     # true: leave out stage 4 (adaptation), e.g. a corpus without unlabeled set
skip_lalm=false      # true: leave out stages 5-7 (audio-language model)
force=false          # redo units even when their .done marker matches (never resuming training)
nj=2                 # parallel jobs for feature extraction
ngpu=0               # GPUs per training job (>1: torchrun data parallel)
seeds="1"            # one model per seed; results are reported as mean +- std
python=python3
datadir=data         # the data dirs; local/data.sh gets --output_dir DIR when it is not data
dumpdir=dump
expdir=exp

# Corpus (set by run.sh)
corpus=              # emorl/data/corpora/<corpus>.py (informational; local/data.sh does the work)
label_set=           # name in emorl.data.labels.LABEL_SETS or a file
eval_label_set=      # label set of the eval and unlabeled sets (cross-corpus); default: label_set
fold=                # speaker-fold protocols: fold N trains on foldN_train, selects on foldN_dev,
                     # scores foldN_test (unless the sets are given) in <expdir>/foldN
train_set=           # labeled training set
dev_set=             # labeled dev set (model selection)
eval_sets=           # sets decoded and scored
unlabeled_set=       # unlabeled target set for stage 4
labeled_fraction=    # few-labels protocol, e.g. 0.1: stage 3 also trains on a speaker-stratified
                     # fraction of train_set (drawn per seed: data/<train_set>_lab<F>_seed<S>),
                     # ser_<tag>_lab<F>; stage 4 adapts that model on the rest of train_set with its
                     # labels left out (data/<train_set>_unlab<F>_seed<S>; unlabeled_set unused),
                     # adapt_<tag>_lab<F>. ser_<tag> (all labels) is the oracle.
local_data_opts=     # options passed to local/data.sh
score_opts=          # options passed to emorl.bin.score (e.g. --label_map conf/map.txt)

# Stage 2
upstream=fbank       # see `python -m emorl.bin.extract --help` for names
upstream_path=       # local checkpoint for the upstream, when it needs one
upstream_config=     # default: conf/upstream/<upstream>.yaml if it exists
upstream_tag=        # default: derived from the upstream name

# Stages 3-4
ser_config=conf/ser.yaml
ser_tag=             # default: the config file's base name
adapt_configs="conf/adapt/bgrpo.yaml"
adapt_jobs=1         # stage-4 units (a config and a seed: training, decoding) run at once,
                     # each on its share of the CPU cores

# Stages 5-7: the recipe's lalm.sh (a link to egs/TEMPLATE/lalm1/lalm.sh) on the same sets and seeds
lalm_opts=           # options passed to lalm.sh, e.g. "--lalm_model mini --lalm_format esr"

# Stage 8
report_exp_dir=      # experiments reported; default: expdir (a parent of fold exp dirs gathers folds)

help_message="Usage: $0 [--stage N] [--stop_stage N] [--upstream NAME] [--nj N] [--seeds \"1 2 3\"] ..."

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

[ -n "${label_set}" ] || { log "Error: --label_set is required"; exit 1; }
if [ -n "${fold}" ]; then
    train_set=${train_set:-fold${fold}_train}
    dev_set=${dev_set:-fold${fold}_dev}
    eval_sets=${eval_sets:-fold${fold}_test}
    report_exp_dir=${report_exp_dir:-${expdir}}  # the report gathers every fold
    expdir=${expdir}/fold${fold}
fi
resume=true  # training units continue from their checkpoint, if it matches their options and inputs
[ "${force}" != true ] || resume=false
if [ -z "${upstream_tag}" ]; then
    case ${upstream} in
        hf:*) upstream_tag=hf_$(basename "${upstream#hf:}") ;;
        *) upstream_tag=${upstream} ;;
    esac
fi
if [ -z "${upstream_config}" ]; then
    case ${upstream} in
        hf:*) cfg=conf/upstream/hf.yaml ;;
        *) cfg=conf/upstream/${upstream}.yaml ;;
    esac
    [ ! -f "${cfg}" ] || upstream_config=${cfg}
fi
[ -n "${ser_tag}" ] || ser_tag=$(basename "${ser_config}" .yaml)
feat_dir=${dumpdir}/${upstream_tag}

all_sets=$(echo "${train_set} ${dev_set} ${eval_sets} ${unlabeled_set}" | tr ' ' '\n' | awk 'NF && !seen[$0]++')

if run_stage 1; then
    log "Stage 1: data preparation (local/data.sh ${local_data_opts})"
    prepare_data
    for dset in ${all_sets}; do
        dset_label_set=${label_set}  # train and dev hold the model's classes; other sets may not
        [[ " ${train_set} ${dev_set} " == *" ${dset} "* ]] || dset_label_set=${eval_label_set:-${label_set}}
        utils/validate_data_dir.sh "${datadir}/${dset}" --label_set "${dset_label_set}"
    done
fi

if run_stage 2; then
    log "Stage 2: features from ${upstream} -> ${feat_dir}"
    upstream_opts=(--upstream "${upstream}")
    [ -z "${upstream_path}" ] || upstream_opts+=(--upstream_path "${upstream_path}")
    [ -z "${upstream_config}" ] || upstream_opts+=(--config "${upstream_config}")
    for dset in ${all_sets}; do
        out=${feat_dir}/${dset}
        deps="${datadir}/${dset}/wav.scp ${datadir}/${dset}/segments" run_unit "${out}" bash -c "${decode_cmd} JOB=1:${nj} ${out}/log/extract.JOB.log \
            ${python} -m emorl.bin.extract ${upstream_opts[*]} --data_dir ${datadir}/${dset} \
                --out_dir ${out} --nj ${nj} --job JOB \
            && ${python} -m emorl.bin.merge_feats --data_dir ${datadir}/${dset} --out_dir ${out} --nj ${nj}"
    done
fi

decode_and_score() {  # decode_and_score MODEL_DIR: decode and score every eval set with one model
    local model_dir=$1 dset
    for dset in ${eval_sets}; do
        deps="${model_dir} ${feat_dir}/${dset} ${datadir}/${dset}/utt2emo" \
        run_unit "${model_dir}/decode_${dset}" bash -c "${decode_cmd} ${model_dir}/decode_${dset}/log/decode.log \
            ${python} -m emorl.bin.infer_ser --model_dir ${model_dir} --feats_dir ${feat_dir}/${dset} \
                --out_dir ${model_dir}/decode_${dset} \
            && ${python} -m emorl.bin.score --data_dir ${datadir}/${dset} --decode_dir ${model_dir}/decode_${dset} ${score_opts}"
    done
}

if run_stage 3; then
    log "Stage 3: supervised baseline ${ser_config} on ${train_set}, seeds ${seeds}"
    for seed in ${seeds}; do
        ser_exp=${expdir}/${upstream_tag}/ser_${ser_tag}/seed${seed}
        deps="${feat_dir}/${train_set} ${feat_dir}/${dev_set} ${datadir}/${train_set}/utt2emo ${datadir}/${dev_set}/utt2emo" \
        run_unit "${ser_exp}" bash -c "${train_cmd} --gpu ${ngpu} ${ser_exp}/log/train.log \
            $(train_launcher) emorl.bin.train_ser --config ${ser_config} --label_set ${label_set} \
                --train_data ${datadir}/${train_set} --train_feats ${feat_dir}/${train_set} \
                --dev_data ${datadir}/${dev_set} --dev_feats ${feat_dir}/${dev_set} \
                --exp_dir ${ser_exp} --seed ${seed} --resume ${resume}"
        decode_and_score "${ser_exp}"
        [ -n "${labeled_fraction}" ] || continue
        lab=${train_set}_lab${labeled_fraction}_seed${seed}
        unlab=${train_set}_unlab${labeled_fraction}_seed${seed}
        log "Stage 3: few labels: ${labeled_fraction} of ${train_set} (seed ${seed}) -> ${datadir}/${lab}"
        deps="${datadir}/${train_set}/utt2spk ${datadir}/${train_set}/utt2emo ${feat_dir}/${train_set}" \
        run_unit "${feat_dir}/${lab}" ${python} -m emorl.bin.split_labeled \
            --data_dir ${datadir}/${train_set} --fraction ${labeled_fraction} --seed ${seed} \
            --labeled_dir ${datadir}/${lab} --unlabeled_dir ${datadir}/${unlab} \
            --feats_dir ${feat_dir}/${train_set} --labeled_feats ${feat_dir}/${lab} \
            --unlabeled_feats ${feat_dir}/${unlab}
        few_exp=${expdir}/${upstream_tag}/ser_${ser_tag}_lab${labeled_fraction}/seed${seed}
        deps="${feat_dir}/${lab} ${feat_dir}/${dev_set} ${datadir}/${lab}/utt2emo ${datadir}/${dev_set}/utt2emo" \
        run_unit "${few_exp}" bash -c "${train_cmd} --gpu ${ngpu} ${few_exp}/log/train.log \
            $(train_launcher) emorl.bin.train_ser --config ${ser_config} --label_set ${label_set} \
                --train_data ${datadir}/${lab} --train_feats ${feat_dir}/${lab} \
                --dev_data ${datadir}/${dev_set} --dev_feats ${feat_dir}/${dev_set} \
                --exp_dir ${few_exp} --seed ${seed} --resume ${resume}"
        decode_and_score "${few_exp}"
    done
fi

adapt_unit() {  # adapt_unit CONFIG SEED: stage 4's model of CONFIG for SEED, decoded and scored
    local adapt_config=$1 seed=$2 adapt_tag suffix target source init adapt_exp target_deps
    adapt_tag=$(basename "${adapt_config}" .yaml)
    if [ -n "${labeled_fraction}" ]; then
        # the few-label model, adapted on the rest of train_set (no label table there);
        # its labeled fraction is the source set
        suffix=_lab${labeled_fraction}
        target=${train_set}_unlab${labeled_fraction}_seed${seed}
        source=${train_set}_lab${labeled_fraction}_seed${seed}
    else
        suffix= target=${unlabeled_set} source=${train_set}
    fi
    init=${expdir}/${upstream_tag}/ser_${ser_tag}${suffix}/seed${seed}
    adapt_exp=${expdir}/${upstream_tag}/adapt_${adapt_tag}${suffix}/seed${seed}
    [ -f "${init}/model.pt" ] || { log "Error: ${init}/model.pt missing; run stage 3 first"; exit 1; }
    target_deps="${datadir}/${target}/wav.scp"
    [ ! -f "${datadir}/${target}/utt2emo" ] || target_deps+=" ${datadir}/${target}/utt2emo"
    deps="${init} ${feat_dir}/${target} ${feat_dir}/${source} ${target_deps} ${datadir}/${source}/utt2emo" \
    run_unit "${adapt_exp}" bash -c "${train_cmd} --gpu ${ngpu} ${adapt_exp}/log/train.log \
        ${python} -m emorl.bin.train_bgrpo --config ${adapt_config} --init_model ${init} \
            --unlabeled_data ${datadir}/${target} --unlabeled_feats ${feat_dir}/${target} \
            --source_data ${datadir}/${source} --source_feats ${feat_dir}/${source} \
            --exp_dir ${adapt_exp} --seed ${seed} --resume ${resume}"
    decode_and_score "${adapt_exp}"
}

if run_stage 4 "${skip_adapt}"; then
    if [ -n "${labeled_fraction}" ]; then
        log "Stage 4: adaptation on ${train_set} beyond its labeled fraction ${labeled_fraction}: ${adapt_configs}"
    else
        [ -n "${unlabeled_set}" ] || { log "Error: stage 4 needs --unlabeled_set (or --labeled_fraction)"; exit 1; }
        log "Stage 4: adaptation on ${unlabeled_set}: ${adapt_configs}"
    fi
    for adapt_config in ${adapt_configs}; do
        for seed in ${seeds}; do
            start_job "${adapt_jobs}" adapt_unit "${adapt_config}" "${seed}"
        done
    done
    wait_jobs
fi

lalm() {  # lalm FIRST LAST: stages FIRST..LAST of lalm.sh --task emo on this recipe's sets
    [ -x ./lalm.sh ] || { log "Error: stages 5-7 need ./lalm.sh (a link to egs/TEMPLATE/lalm1/lalm.sh); or use --skip_lalm true"; exit 1; }
    ./lalm.sh --task emo --label_set "${label_set}" --train_set "${train_set}" --dev_set "${dev_set}" \
        --eval_sets "${eval_sets}" --seeds "${seeds}" --nj "${nj}" --ngpu "${ngpu}" \
        --python "${python}" --datadir "${datadir}" --expdir "${expdir}" --force "${force}" --score_opts "${score_opts}" \
        --stage "$1" --stop_stage "$2" ${lalm_opts}
}

if run_stage 5 "${skip_lalm}"; then
    log "Stage 5: audio-language model: SFT targets and cold-start SFT (lalm.sh stages 2-3)"
    lalm 2 3
fi
if run_stage 6 "${skip_lalm}"; then
    log "Stage 6: audio-language model: GRPO (lalm.sh stage 4)"
    lalm 4 4
fi
if run_stage 7 "${skip_lalm}"; then
    log "Stage 7: audio-language model: decode and score (lalm.sh stages 5-6)"
    lalm 5 6
fi

if run_stage 8; then
    log "Stage 8: report -> README.md"
    ${python} -m emorl.bin.report --exp_dir "${report_exp_dir:-${expdir}}" --readme README.md
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
exit 0
}
