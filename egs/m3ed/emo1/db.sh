# Where the corpus lives: set it here, or export M3ED before running ./run.sh.
# M3ED: the directory that contains annotation.json, splitInfo/ and modality_speech/.
M3ED=${M3ED:-}
