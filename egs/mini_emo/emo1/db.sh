# Where corpora live. The mini corpus is synthesised by local/data.sh into MINI_EMO.
MINI_EMO=${MINI_EMO:-db/mini_emo}
