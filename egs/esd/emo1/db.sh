# Where the corpus lives: set it here, or export ESD before running ./run.sh.
# ESD: the extracted Emotional Speech Dataset (ESD), the directory that contains 0001 ... 0020.
ESD=${ESD:-}
