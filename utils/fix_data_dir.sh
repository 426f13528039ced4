#!/usr/bin/env bash
# Sort every table of a data dir and keep the utterances present in all of them (originals in
# <data-dir>/.backup/). Runs emorl.bin.fix_data_dir (python3 from PATH: source path.sh first).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "Usage: $0 <data-dir>" >&2
  exit 1
fi
python3 -m emorl.bin.fix_data_dir "$@" || exit 1
