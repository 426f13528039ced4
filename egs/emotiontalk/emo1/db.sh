# Where the corpus lives: set it here, or export EMOTIONTALK before running ./run.sh.
# EMOTIONTALK: the extracted EmotionTalk release, the directory that contains Audio/json/ and Audio/wav/.
EMOTIONTALK=${EMOTIONTALK:-}
