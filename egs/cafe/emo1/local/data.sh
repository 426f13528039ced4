#!/usr/bin/env bash
# Prepare CaFE into data/: fold{1..6}_{train,dev,test}.
# Options (run.sh's --local_data_opts, or the command line) go to emorl/data/corpora/cafe.py:
#   --audio_ext, --num_folds, --dev_ratio, --seed, --skip_bad_media
set -euo pipefail
. ./path.sh
. ./db.sh
if [ -z "${CAFE}" ]; then
    echo "$0: set CAFE in db.sh (or export it) to the extracted CaFE_48k (or the 192 kHz version, with --audio_ext aiff in run.sh's --local_data_opts)" >&2
    exit 1
fi
python3 -m emorl.bin.prepare_data --corpus cafe --corpus_dir "${CAFE}" --output_dir data "$@"
