# How jobs run. run.pl: on this machine; slurm.pl: on a Slurm cluster (see utils/slurm.pl --help).
#   train_cmd   training jobs (given --gpu N by the recipe)
#   decode_cmd  feature extraction, decoding and scoring
cmd_backend=${cmd_backend:-local}
if [ "${cmd_backend}" = local ]; then
    export train_cmd="run.pl"
    export decode_cmd="run.pl"
elif [ "${cmd_backend}" = slurm ]; then
    export train_cmd="slurm.pl --mem 16G --time 24:00:00"
    export decode_cmd="slurm.pl --mem 8G --time 4:00:00"
else
    echo "cmd.sh: unknown cmd_backend=${cmd_backend} (local or slurm)" >&2
    return 1
fi
