#!/usr/bin/env bash
# Prepare MELD into data/: train, dev, test; the clips' audio goes to wav/meld.
# Options (run.sh's --local_data_opts, or the command line) go to emorl/data/corpora/meld.py:
#   --audio_dir, --nj, --skip_bad_media
set -euo pipefail
. ./path.sh
. ./db.sh
if [ -z "${MELD}" ]; then
    echo "$0: set MELD in db.sh (or export it) to the extracted MELD.Raw (train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv and the clip folders)" >&2
    exit 1
fi
python3 -m emorl.bin.prepare_data --corpus meld --corpus_dir "${MELD}" --output_dir data "$@"
