# Shell helpers of the staged recipe scripts (egs/TEMPLATE/<task>/<name>.sh), sourced by them.
#
# A unit of work (a data dir, a feature dump, a model, a decode dir) is run by run_unit, which
# writes <dir>/.done holding the unit's signature: its command line, the md5 of every file the
# command names and of the files in ${deps}, and the fingerprint of every feature dump or model dir
# in ${deps} (emorl.bin.signature: what the dump or model was made from, not its file names). A
# rerun skips a unit whose signature is unchanged and redoes the others; --force true redoes all.
#
# Globals read: stage, stop_stage, force, python (prepare_data: datadir, local_data_opts).

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2
}

run_stage() {  # run_stage N [SKIP]: true when N is inside [stage, stop_stage] and SKIP is not true
    [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ] && [ "${2:-false}" != true ]
}

signature() {  # the signature of a unit: see the top of this file
    local arg dirs=() -
    set -f  # no globbing while splitting the command into words
    # Whether a unit continues from its checkpoint does not change what it computes.
    echo "$*" | sed -E 's/ --resume (true|false)//g'
    for arg in $* ${deps:-}; do
        case ${arg} in
            */log/*) ;;  # the unit's own logs change with every run
            *) if [ -f "${arg}" ]; then md5sum "${arg}"; fi ;;
        esac
    done
    for arg in ${deps:-}; do
        [ ! -d "${arg}" ] || dirs+=("${arg}")
    done
    if [ ${#dirs[@]} -gt 0 ]; then
        ${python:-python3} -m emorl.bin.signature "${dirs[@]}"
    fi
}

run_unit() {  # [deps="FILE|DIR..."] run_unit DIR COMMAND...: run COMMAND unless DIR/.done matches
    local dir=$1; shift
    local sig
    sig=$(signature "$@")
    if [ "${force}" != true ] && [ -f "${dir}/.done" ] && [ "$(cat "${dir}/.done")" == "${sig}" ]; then
        log "skip ${dir}: done with the same command and inputs"
        return 0
    fi
    mkdir -p "${dir}/log"
    rm -f "${dir}/.done"
    echo "$*" > "${dir}/log/command.sh"
    "$@"
    echo "${sig}" > "${dir}/.done.tmp" && mv "${dir}/.done.tmp" "${dir}/.done"
}

prepare_data() {  # local/data.sh ${local_data_opts} -> ${datadir}, as one unit (stage 1 of a recipe)
    local opts=${local_data_opts}
    [ "${datadir}" = data ] || opts+=" --output_dir ${datadir}"  # data.sh writes data/ by default
    run_unit "${datadir}" local/data.sh ${opts}
}

train_launcher() {  # how a training module is started for --ngpu: "torchrun ... -m" above 1 GPU
    if [ "${ngpu}" -gt 1 ]; then echo "torchrun --standalone --nproc_per_node ${ngpu} -m"; else echo "${python} -m"; fi
}

# Units at once: "start_job N COMMAND..." runs COMMAND in the background, waiting for the oldest
# running one first while N are running (N <= 1: COMMAND runs now, in the foreground); wait_jobs
# waits for them all and stops the script when one failed. Each background job gets its share of
# the cores as OMP_NUM_THREADS (unless set): N jobs of all the cores' threads would fight for them.
job_pids=()
start_job() {
    local max=$1; shift
    if [ "${max}" -le 1 ]; then "$@"; return; fi
    if [ "${#job_pids[@]}" -ge "${max}" ]; then
        wait "${job_pids[0]}" || { log "Error: a parallel job failed (see its log)"; exit 1; }
        job_pids=("${job_pids[@]:1}")
    fi
    local cores
    cores=$(getconf _NPROCESSORS_ONLN)
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( cores > max ? cores / max : 1 ))} "$@" &
    job_pids+=($!)
}

wait_jobs() {
    local pid failed=0
    for pid in "${job_pids[@]}"; do wait "${pid}" || failed=1; done
    job_pids=()
    [ "${failed}" = 0 ] || { log "Error: a parallel job failed (see its log)"; exit 1; }
}
