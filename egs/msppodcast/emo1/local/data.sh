#!/usr/bin/env bash
# Prepare MSP-Podcast into data/: train, dev, test1, test2.
# Options (run.sh's --local_data_opts, or the command line) go to emorl/data/corpora/msppodcast.py:
#   --label_set, --skip_bad_media
set -euo pipefail
. ./path.sh
. ./db.sh
if [ -z "${MSP_PODCAST}" ]; then
    echo "$0: set MSP_PODCAST in db.sh (or export it) to the MSP-Podcast release directory, which contains Audios/ and Labels/labels_consensus.csv" >&2
    exit 1
fi
python3 -m emorl.bin.prepare_data --corpus msppodcast --corpus_dir "${MSP_PODCAST}" --output_dir data "$@"
