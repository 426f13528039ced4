# Where the corpus lives: set it here, or export CAFE before running ./run.sh.
# CAFE: the extracted CaFE_48k (or the 192 kHz version, with --audio_ext aiff in run.sh's --local_data_opts).
CAFE=${CAFE:-}
