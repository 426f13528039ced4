r"""Score an audio-LM decode dir with its task's scorer (emorl.lalm.score): scores.json.

emo: UA, WA, F1 and the confusion (confusion.txt, confusion.png) over the classes the answers name,
answers naming none counted as errors and reported as num_unparsable; cap: caption metrics
(BLEU, METEOR, ROUGE-L, Distinct-n, Emo-F1), in the captions' language: --language zh scores
Chinese at character level (BLEU with sacrebleu's zh tokeniser), en with 13a, auto (the default)
picks zh when most reference captions contain a CJK character; ov: emotion-wheel F-scores. Every
task also reports num_format_valid.

Usage:
    python -m emorl.bin.score_lalm --task emo --data_dir data/src_test \
        --decode_dir exp/lalm_mini_sft_mini_answer/seed1/decode_src_test
    python -m emorl.bin.score_lalm --task emo --data_dir data/other_test \
        --decode_dir ... --label_map conf/label_map.txt      # lines: <test label> <model label>
    python -m emorl.bin.score_lalm --task cap --data_dir data/test \
        --decode_dir exp/lalm_real_sft_real_answer/seed1/decode_test --language zh
"""

from __future__ import annotations

from pathlib import Path

from emorl import cli
from emorl.lalm.data import TASKS
from emorl.lalm.score import score_decode_dir
from emorl.report.plots import plot_confusion


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("--task", choices=TASKS, required=True, help="emo, cap or ov")
    parser.add_argument("--data_dir", type=Path, required=True, help="data dir (references)")
    parser.add_argument("--decode_dir", type=Path, required=True, help="decode dir (decode_lalm)")
    parser.add_argument("--label_map", type=Path, help="emo: '<test label> <model label>' lines")
    parser.add_argument(
        "--language", choices=("auto", "en", "zh"), help="cap: the captions' language (auto)"
    )
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    options = {}
    if args.label_map is not None:
        if args.task != "emo":
            parser.error("--label_map is an option of --task emo")
        options["label_map"] = args.label_map
    if args.language is not None:
        if args.task != "cap":
            parser.error("--language is an option of --task cap")
        options["language"] = args.language
    scores = score_decode_dir(args.task, args.data_dir, args.decode_dir, **options)
    if args.task == "emo":
        title = f"{args.decode_dir.parent.name}/{args.decode_dir.name}"
        plot_confusion(scores, args.decode_dir / "confusion.png", title=title)


if __name__ == "__main__":
    main()
