# Where the corpus lives: set it here, or export CREMAD before running ./run.sh.
# CREMAD: the CREMA-D checkout, the directory that contains AudioWAV/.
CREMAD=${CREMAD:-}
