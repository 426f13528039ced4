# Where the corpus lives: set it here, or export MER2023 before running ./run.sh.
# MER2023: the directory with the extracted MER2023 archives (train-label.csv, test-labels/, the clip folders) and/or OV-MERD+ (ovlabel.csv).
MER2023=${MER2023:-}
