#!/usr/bin/env bash
# Prepare M3ED into data/: train, dev, test.
# Options (run.sh's --local_data_opts, or the command line) go to emorl/data/corpora/m3ed.py:
#   --skip_bad_media
set -euo pipefail
. ./path.sh
. ./db.sh
if [ -z "${M3ED}" ]; then
    echo "$0: set M3ED in db.sh (or export it) to the directory that contains annotation.json, splitInfo/ and modality_speech/" >&2
    exit 1
fi
python3 -m emorl.bin.prepare_data --corpus m3ed --corpus_dir "${M3ED}" --output_dir data "$@"
