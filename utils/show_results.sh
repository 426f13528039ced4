#!/usr/bin/env bash
# Print the result tables of a recipe (what stage 8 writes into its README), writing nothing:
# every scored experiment under <recipe>/exp, seeds as mean +- std, upstreams and methods side by
# side; with more recipe dirs, a comparison across recipes too. Runs emorl.bin.report (python3 from
# PATH: source path.sh first).
set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  cat >&2 <<USAGE
Usage: $0 <recipe-dir> [<other-recipe-dir> ...]
  e.g. $0 .                                   (from a recipe dir)
       $0 egs/mini_emo/emo1 egs/iemocap/emo1  (side by side)
USAGE
  exit 1
fi
recipe=$1; shift
[ -d "${recipe}/exp" ] || { echo "$0: ${recipe}/exp: no such directory (run the recipe first)" >&2; exit 1; }
compare=()
[ $# -eq 0 ] || compare=(--compare "$@")
exec python3 -m emorl.bin.report --exp_dir "${recipe}/exp" --plots false "${compare[@]}"
