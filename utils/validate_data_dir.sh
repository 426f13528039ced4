#!/usr/bin/env bash
# Validate a data dir and print a one-line summary. The rules live in emorl.data.datadir; this
# runs emorl.bin.validate_data_dir (python3 from PATH: source path.sh first).
set -euo pipefail

if [ $# -lt 1 ]; then
  cat >&2 <<USAGE
Usage: $0 <data-dir> [--label_set <name-or-file>] [--check_audio true|false]
  e.g. $0 data/train --label_set iemocap4 --check_audio true
USAGE
  exit 1
fi
python3 -m emorl.bin.validate_data_dir "$@" || exit 1
