# Where the corpus lives: set it here, or export IEMOCAP before running ./run.sh.
# IEMOCAP: the directory that contains Session1 ... Session5 (IEMOCAP_full_release).
IEMOCAP=${IEMOCAP:-}
