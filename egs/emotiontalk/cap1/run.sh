#!/usr/bin/env bash
# EmotionTalk emotion captioning (MECap-R1): cold-start SFT of an audio-language model on the
# Mandarin reference captions (the "overall" aspect), then GRPO with the Emo-GRPO reward; greedy
# decoding and scoring of the test set (BLEU at character level, METEOR, ROUGE-L, Distinct-n,
# Emo-F1). Every stage is lalm.sh's (a link to egs/TEMPLATE/lalm1/lalm.sh): 1 data, 2 SFT targets,
# 3 SFT, 4 GRPO, 5 decode, 6 score, 7 report. Any lalm.sh option passes through.
#   ./run.sh --lalm_model_path /models/Qwen2-Audio-7B-Instruct        the whole recipe
#   ./run.sh --stop_stage 2                                            data and targets only
#   ./run.sh --stage 5 --lalm_model_path /models/Qwen2-Audio-7B-Instruct   decode, score, report
set -euo pipefail

./lalm.sh \
    --task cap \
    --train_set train \
    --dev_set dev \
    --eval_sets "test" \
    --local_data_opts "--caption_aspect overall" \
    --lalm_model real \
    --lalm_format answer \
    --sft_config conf/lalm/sft_real.yaml \
    --grpo_configs "conf/lalm/grpo_emo_grpo.yaml" \
    --score_opts "--language zh" \
    "$@"
