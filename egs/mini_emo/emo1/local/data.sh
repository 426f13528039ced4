#!/usr/bin/env bash
# Synthesise the mini emotional-speech corpus with eSpeak NG and prepare its data dirs:
# data/{src,tgt}_{train,dev,test}. Options go to emorl/data/corpora/mini_emo.py (--size tiny|ci|default|large, --seed N, --snr_db, --telephone, --target_shift).
set -euo pipefail
. ./path.sh
. ./db.sh
python3 -m emorl.bin.prepare_data --corpus mini_emo --corpus_dir "${MINI_EMO}" --output_dir data "$@"
