r"""Score a decode dir against a data dir's utt2emo: UA, WA, macro-F1, weighted-F1, confusion.

Writes decode_dir/scores.json (ua, wa, macro_f1, weighted_f1, num_utts, per_class, unmapped,
confusion), decode_dir/confusion.txt and decode_dir/confusion.png. Reference labels the model does
not have stop the scoring, unless --label_map maps them (train on corpus A, test on B):
references that the map cannot translate are then left out and reported in the log and in
scores.json's "unmapped".

Usage:
    python -m emorl.bin.score --data_dir data/src_test \
        --decode_dir exp/fbank/ser_ser/seed0/decode_src_test
    python -m emorl.bin.score --data_dir data/iemocap_test \
        --decode_dir exp/.../decode_iemocap_test \
        --label_map conf/label_map/iemocap_to_meld.txt     # lines: <test label> <model label>
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from emorl import cli
from emorl.atomic import atomic_write
from emorl.data.datadir import read_table
from emorl.data.labels import read_label_map
from emorl.metrics.ser import confusion_text, per_class_text, score_predictions
from emorl.report.plots import plot_confusion
from emorl.ser.coverage import check_coverage
from emorl.ser.decode_dir import read_labels


def score_decode_dir(
    data_dir: Path, decode_dir: Path, label_map: Path | None = None, allow_missing: bool = False
) -> dict:
    """Score ``decode_dir`` against ``data_dir/utt2emo`` and write the score files into it."""
    references = read_table(data_dir / "utt2emo")
    predictions = read_table(decode_dir / "predictions")
    labels = read_labels(decode_dir / "labels")
    utts = check_coverage(
        predictions,
        references,
        str(decode_dir / "predictions"),
        str(data_dir / "utt2emo"),
        allow_missing,
    )
    mapping = read_label_map(label_map) if label_map is not None else None
    scores = score_predictions(
        {u: references[u] for u in utts}, {u: predictions[u] for u in utts}, labels, mapping
    )
    if scores["unmapped"]:
        logging.warning(
            "%s: %d references left out, their labels not mapped by %s: %s",
            data_dir / "utt2emo",
            sum(scores["unmapped"].values()),
            label_map,
            scores["unmapped"],
        )
    with atomic_write(decode_dir / "scores.json") as f:
        json.dump(scores, f, indent=2)
    with atomic_write(decode_dir / "confusion.txt") as f:
        f.write(confusion_text(scores))
    plot_confusion(
        scores, decode_dir / "confusion.png", title=f"{decode_dir.parent.name}/{decode_dir.name}"
    )
    return scores


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("--data_dir", type=Path, required=True, help="data dir with utt2emo")
    parser.add_argument(
        "--decode_dir", type=Path, required=True, help="decode dir (predictions, labels)"
    )
    parser.add_argument(
        "--label_map",
        type=Path,
        help="'<test label> <model label>' per line, for cross-corpus scoring",
    )
    parser.add_argument(
        "--allow_missing",
        type=cli.str2bool,
        default=False,
        help="score the utterances that have both a prediction and a label instead of stopping",
    )
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    scores = score_decode_dir(args.data_dir, args.decode_dir, args.label_map, args.allow_missing)
    logging.info(
        "%s: UA %.2f WA %.2f macro-F1 %.2f weighted-F1 %.2f (%d utts)\n%s",
        args.decode_dir,
        100 * scores["ua"],
        100 * scores["wa"],
        100 * scores["macro_f1"],
        100 * scores["weighted_f1"],
        scores["num_utts"],
        per_class_text(scores),
    )


if __name__ == "__main__":
    main()
