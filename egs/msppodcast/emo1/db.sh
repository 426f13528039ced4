# Where the corpus lives: set it here, or export MSP_PODCAST before running ./run.sh.
# MSP_PODCAST: the MSP-Podcast release directory, which contains Audios/ and Labels/labels_consensus.csv.
MSP_PODCAST=${MSP_PODCAST:-}
