#!/usr/bin/env bash
# Prepare IEMOCAP into data/: fold{1..5}_{train,dev,test}.
# Options (run.sh's --local_data_opts, or the command line) go to emorl/data/corpora/iemocap.py:
#   --label_set, --improvised_only, --dev_ratio, --seed, --skip_bad_media
set -euo pipefail
. ./path.sh
. ./db.sh
if [ -z "${IEMOCAP}" ]; then
    echo "$0: set IEMOCAP in db.sh (or export it) to the directory that contains Session1 ... Session5 (IEMOCAP_full_release)" >&2
    exit 1
fi
python3 -m emorl.bin.prepare_data --corpus iemocap --corpus_dir "${IEMOCAP}" --output_dir data "$@"
