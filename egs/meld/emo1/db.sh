# Where the corpus lives: set it here, or export MELD before running ./run.sh.
# MELD: the extracted MELD.Raw (train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv and the clip folders).
MELD=${MELD:-}
