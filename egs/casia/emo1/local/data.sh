#!/usr/bin/env bash
# Prepare CASIA into data/: fold{1..4}_{train,dev,test}.
# Options (run.sh's --local_data_opts, or the command line) go to emorl/data/corpora/casia.py:
#   --num_folds, --dev_ratio, --seed, --skip_bad_media
set -euo pipefail
. ./path.sh
. ./db.sh
if [ -z "${CASIA}" ]; then
    echo "$0: set CASIA in db.sh (or export it) to the directory that holds the four speaker folders (liuchanhg, wangzhe, zhaoquanyin, ZhaoZuoxiang)" >&2
    exit 1
fi
python3 -m emorl.bin.prepare_data --corpus casia --corpus_dir "${CASIA}" --output_dir data "$@"
