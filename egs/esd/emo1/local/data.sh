#!/usr/bin/env bash
# Prepare ESD into data/: {en,zh}_{train,dev,test}.
# Options (run.sh's --local_data_opts, or the command line) go to emorl/data/corpora/esd.py:
#   --languages, --skip_bad_media
set -euo pipefail
. ./path.sh
. ./db.sh
if [ -z "${ESD}" ]; then
    echo "$0: set ESD in db.sh (or export it) to the extracted Emotional Speech Dataset (ESD), the directory that contains 0001 ... 0020" >&2
    exit 1
fi
python3 -m emorl.bin.prepare_data --corpus esd --corpus_dir "${ESD}" --output_dir data "$@"
