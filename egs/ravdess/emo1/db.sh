# Where the corpus lives: set it here, or export RAVDESS before running ./run.sh.
# RAVDESS: the directory that holds the extracted Actor_01 ... Actor_24 folders (Audio_Speech_Actors_01-24.zip).
RAVDESS=${RAVDESS:-}
