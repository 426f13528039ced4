#!/usr/bin/env bash
# Prepare IEMOCAP (iemocap4) into data/iemocap/ and MELD into data/meld/ (the clips' audio goes to
# wav/meld), then link this recipe's sets under flat names (emo.sh's sets are data/<set>, and flat
# names keep exp/.../decode_<set> one level deep, where the report looks):
#   data/iemocap_{train,dev} -> iemocap/fold5_{train,dev}   Sessions 1-4 (dev: a seeded --dev_ratio)
#   data/iemocap_test        -> iemocap/fold5_test          Session 5 (the in-corpus reference)
#   data/meld_{train,dev,test} -> meld/{train,dev,test}     the official MELD sets (7 labels)
# Options (run.sh's --local_data_opts, or the command line): --dev_ratio and --seed go to the IEMOCAP
# preparer, --nj to the MELD one, --skip_bad_media to both.
set -euo pipefail

dev_ratio=0.1
seed=0
nj=2
skip_bad_media=false
help_message="Usage: $0 [--dev_ratio 0.1] [--seed 0] [--nj 2] [--skip_bad_media false]"

. ./path.sh
. ./db.sh
. utils/parse_options.sh

if [ -z "${IEMOCAP}" ]; then
    echo "$0: set IEMOCAP in db.sh (or export it) to the directory that contains Session1 ... Session5 (IEMOCAP_full_release)" >&2
    exit 1
fi
if [ -z "${MELD}" ]; then
    echo "$0: set MELD in db.sh (or export it) to the extracted MELD.Raw (train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv and the clip folders)" >&2
    exit 1
fi

python3 -m emorl.bin.prepare_data --corpus iemocap --corpus_dir "${IEMOCAP}" --output_dir data/iemocap \
    --label_set iemocap4 --dev_ratio "${dev_ratio}" --seed "${seed}" --skip_bad_media "${skip_bad_media}"
python3 -m emorl.bin.prepare_data --corpus meld --corpus_dir "${MELD}" --output_dir data/meld \
    --audio_dir wav/meld --nj "${nj}" --skip_bad_media "${skip_bad_media}"

for pair in iemocap_train:iemocap/fold5_train iemocap_dev:iemocap/fold5_dev \
        iemocap_test:iemocap/fold5_test meld_train:meld/train meld_dev:meld/dev meld_test:meld/test; do
    name=${pair%%:*}
    rm -rf "data/${name}"
    ln -s "${pair#*:}" "data/${name}"
done
