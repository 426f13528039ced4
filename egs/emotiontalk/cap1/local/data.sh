#!/usr/bin/env bash
# Prepare EmotionTalk into data/: train, dev, test.
# Options (run.sh's --local_data_opts, or the command line) go to emorl/data/corpora/emotiontalk.py:
#   --captions, --caption_aspect, --dev_groups, --test_groups, --skip_bad_media
set -euo pipefail
. ./path.sh
. ./db.sh
if [ -z "${EMOTIONTALK}" ]; then
    echo "$0: set EMOTIONTALK in db.sh (or export it) to the extracted EmotionTalk release, the directory that contains Audio/json/ and Audio/wav/" >&2
    exit 1
fi
python3 -m emorl.bin.prepare_data --corpus emotiontalk --corpus_dir "${EMOTIONTALK}" --output_dir data "$@"
