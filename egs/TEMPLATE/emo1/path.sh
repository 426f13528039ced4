# Environment of a recipe: the emorl venv and the repository's utils on PATH.
# Sourced from the recipe directory (egs/<corpus>/<task>/), where path.sh links here.
MAIN_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)
if [ ! -d "${MAIN_ROOT}/emorl" ]; then
    echo "path.sh: cannot find the emorl repository root from ${BASH_SOURCE[0]}" >&2
    return 1
fi
if [ ! -f "${MAIN_ROOT}/tools/venv/.emorl-installed" ]; then
    echo "path.sh: first use: installing tools/venv with tools/install.sh (a few minutes, once)" >&2
    "${MAIN_ROOT}/tools/install.sh" >&2
fi
export PATH="${MAIN_ROOT}/tools/venv/bin:${MAIN_ROOT}/utils:${PATH}"
# Offline by default: no model hub.
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export PYTHONUNBUFFERED=1
