"""Stage 8: result tables over every scored experiment of a recipe, written into its README.

Collects exp/<upstream>/<method>_<config>/seed<S>/decode_<set>/scores.json (see
emorl.report.results), aggregates seeds (and folds), and writes the block between
<!-- RESULTS START --> and <!-- RESULTS END --> of --readme (appended when the README has none):
date, emorl git hash, python and torch versions; per kind of score file (SER, captioning, open
vocabulary), a row per experiment and eval set (and fold) and a comparison across upstreams and
methods; the paired differences of every adaptation experiment to its initial model and to the
run without update, and of every audio-LM GRPO experiment to its SFT model, with a 95% interval
over seeds (emorl.report.paired); the reward of every audio-LM GRPO experiment over its first and
last steps and its stability (emorl.report.grpo_logs); with --compare, a
comparison across recipes; the score files of unknown kinds, listed.
Training curves of every experiment go to --plot_dir as PNG. The block is also printed.

Usage:
    python -m emorl.bin.report --exp_dir exp --readme README.md
    python -m emorl.bin.report --exp_dir exp --readme README.md --compare ../../other_corpus/emo1
    python -m emorl.bin.report --exp_dir exp --plots false     # print the tables only
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from emorl import cli
from emorl.report.grpo_logs import stability_section
from emorl.report.paired import paired_section
from emorl.report.results import (
    collect_runs,
    grpo_experiments,
    plot_training_curves,
    results_block,
    summarize,
    training_logs,
    unknown_runs,
    update_readme,
)


def recipe_name(recipe_dir: Path) -> str:
    """``egs/<corpus>/<task>`` -> ``<corpus>/<task>``."""
    return "/".join(recipe_dir.resolve().parts[-2:])


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("--exp_dir", type=Path, required=True, help="the recipe's exp dir")
    parser.add_argument("--readme", type=Path, help="README whose RESULTS block to (re)write")
    parser.add_argument(
        "--compare",
        type=Path,
        nargs="*",
        default=[],
        help="other recipe dirs (each with exp/) to compare with this one",
    )
    parser.add_argument("--plots", type=cli.str2bool, default=True, help="plot training curves")
    parser.add_argument("--plot_dir", type=Path, help="where the plots go (default: EXP_DIR/plots)")
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    if not args.exp_dir.is_dir():
        parser.error(f"--exp_dir {args.exp_dir}: no such directory")
    runs = collect_runs(args.exp_dir)
    rows = summarize(runs, recipe_name(args.exp_dir.parent))
    compare_rows = []
    if args.compare:
        recipes = [args.exp_dir.parent] + [
            d for d in args.compare if d.resolve() != args.exp_dir.parent.resolve()
        ]
        for recipe in recipes:
            if not (recipe / "exp").is_dir():
                parser.error(f"--compare {recipe}: has no exp/ dir")
            compare_rows += summarize(collect_runs(recipe / "exp"), recipe_name(recipe))
    logs = training_logs(args.exp_dir)
    plots = []
    if args.plots:
        base = args.readme.parent if args.readme else Path(".")
        for png in plot_training_curves(logs, args.plot_dir or args.exp_dir / "plots"):
            plots.append(os.path.relpath(png, base))
    command = "python -m emorl.bin.report " + " ".join(sys.argv[1:] if argv is None else argv)
    block = results_block(
        rows,
        command,
        compare_rows,
        plots,
        unknown=unknown_runs(runs),
        sections=[
            paired_section(runs, args.exp_dir),
            stability_section(grpo_experiments(logs)),
        ],
        readme=args.readme,
    )
    print(block, end="")
    if args.readme:
        update_readme(args.readme, block)
        logging.info("RESULTS block of %s updated (%d rows)", args.readme, len(rows))


if __name__ == "__main__":
    main()
