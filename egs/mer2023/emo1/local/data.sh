#!/usr/bin/env bash
# Prepare MER2023 into data/: train, dev, test1, test2, test3, ovmerdplus; the clips' audio goes to wav/mer2023.
# Options (run.sh's --local_data_opts, or the command line) go to emorl/data/corpora/mer2023.py:
#   --audio_dir, --nj, --dev_ratio, --seed, --transcripts, --text_column, --skip_bad_media
set -euo pipefail
. ./path.sh
. ./db.sh
if [ -z "${MER2023}" ]; then
    echo "$0: set MER2023 in db.sh (or export it) to the directory with the extracted MER2023 archives (train-label.csv, test-labels/, the clip folders) and/or OV-MERD+ (ovlabel.csv)" >&2
    exit 1
fi
python3 -m emorl.bin.prepare_data --corpus mer2023 --corpus_dir "${MER2023}" --output_dir data "$@"
