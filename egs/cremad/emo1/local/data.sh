#!/usr/bin/env bash
# Prepare CREMA-D into data/: fold{1..5}_{train,dev,test}.
# Options (run.sh's --local_data_opts, or the command line) go to emorl/data/corpora/cremad.py:
#   --num_folds, --dev_ratio, --seed, --skip_bad_media
set -euo pipefail
. ./path.sh
. ./db.sh
if [ -z "${CREMAD}" ]; then
    echo "$0: set CREMAD in db.sh (or export it) to the CREMA-D checkout, the directory that contains AudioWAV/" >&2
    exit 1
fi
python3 -m emorl.bin.prepare_data --corpus cremad --corpus_dir "${CREMAD}" --output_dir data "$@"
