#!/usr/bin/env bash
# Run the test suite in tools/venv (installing it first if needed). Extra arguments go to pytest.
#   tools/test.sh                 everything
#   tools/test.sh -m "not slow"   the quick tests
#   tools/test.sh tests/data -x
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
tools/venv/bin/ruff check emorl tests tools bench
exec tools/venv/bin/python -m pytest "$@"
