"""Compare every experiment of an exp dir with one of them, paired by seed: the table of a search.

Reads <exp_dir>/<experiment>/seed<S>/decode_<set>/scores.json (the layout of emorl.bin.report)
and prints, per eval set, a row per experiment, best first: the metric's mean ± std over seeds
and its paired difference to --reference over the seeds both have, with a 95% paired-t interval
(emorl.report.paired). A config search is selected on the dev set's rows; an interval that
contains 0 is within the seed noise.

Usage:
    python -m emorl.bin.compare_runs --exp_dir exp/target_intensity/whisper_tiny.en \
        --reference adapt_pseudo_label --eval_sets tgt_dev --seeds "1 2 3"
    python -m emorl.bin.compare_runs --exp_dir exp/whisper_tiny.en --reference ser_ser \
        --metric macro_f1 --experiments "adapt_bgrpo adapt_target_norm"
"""

from __future__ import annotations

from pathlib import Path

from emorl import cli
from emorl.report.paired import compare_to_reference, compared_table
from emorl.report.results import SCORE_KINDS, collect_runs


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("--exp_dir", type=Path, required=True, help="dir of experiment dirs")
    parser.add_argument("--reference", required=True, help="the experiment compared with")
    parser.add_argument("--eval_sets", default="", help="eval sets, space-separated (default: all)")
    parser.add_argument("--experiments", default="", help="space-separated (default: every one)")
    parser.add_argument("--seeds", default="", help="seeds, space-separated (default: all)")
    parser.add_argument("--metric", default="ua", help="a scores.json key of the runs' kind")
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    if not args.exp_dir.is_dir():
        parser.error(f"--exp_dir {args.exp_dir}: no such directory")
    runs = collect_runs(args.exp_dir)
    if args.eval_sets:
        runs = [r for r in runs if r.eval_set in args.eval_sets.split()]
    if args.seeds:
        runs = [r for r in runs if r.seed in args.seeds.split()]
    if args.experiments:
        runs = [r for r in runs if r.exp in {*args.experiments.split(), args.reference}]
    if not runs:
        parser.error(f"--exp_dir {args.exp_dir}: no scored run of these experiments and sets")
    kinds = {r.kind for r in runs}
    if len(kinds) > 1 or not kinds <= SCORE_KINDS.keys():
        parser.error(f"--exp_dir {args.exp_dir}: runs of kinds {sorted(kinds)}; need one kind")
    metrics = {m.key: m for m in SCORE_KINDS[kinds.pop()].metrics}
    if args.metric not in metrics:
        parser.error(f"--metric {args.metric}: one of {sorted(metrics)}")
    try:
        rows = compare_to_reference(runs, args.reference, metrics[args.metric])
    except ValueError as e:
        parser.error(str(e))
    print(compared_table(rows, metrics[args.metric], args.reference), end="")


if __name__ == "__main__":
    main()
