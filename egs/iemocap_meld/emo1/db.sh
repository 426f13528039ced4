# Where the corpora live: set them here, or export them before running ./run.sh.
# IEMOCAP: the directory that contains Session1 ... Session5 (IEMOCAP_full_release).
# MELD: the extracted MELD.Raw (train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv and the clip folders).
IEMOCAP=${IEMOCAP:-}
MELD=${MELD:-}
