#!/usr/bin/env bash
# Prepare RAVDESS into data/: fold{1..4}_{train,dev,test}.
# Options (run.sh's --local_data_opts, or the command line) go to emorl/data/corpora/ravdess.py:
#   --vocal_channel, --num_folds, --dev_ratio, --seed, --skip_bad_media
set -euo pipefail
. ./path.sh
. ./db.sh
if [ -z "${RAVDESS}" ]; then
    echo "$0: set RAVDESS in db.sh (or export it) to the directory that holds the extracted Actor_01 ... Actor_24 folders (Audio_Speech_Actors_01-24.zip)" >&2
    exit 1
fi
python3 -m emorl.bin.prepare_data --corpus ravdess --corpus_dir "${RAVDESS}" --output_dir data "$@"
