"""Split a labeled set into a speaker- and class-stratified labeled fraction and the rest, whose
label tables (utt2emo, utt2caption, utt2ovlabels) are left out, with the matching feature dumps
(the few-labels protocol: stage 3 trains on the fraction, stage 4 adapts on the rest). The same
--seed gives the same split; see emorl.data.subset.

Usage:
    python -m emorl.bin.split_labeled --data_dir data/src_train --fraction 0.1 --seed 1 \
        --labeled_dir data/src_train_lab0.1_seed1 --unlabeled_dir data/src_train_unlab0.1_seed1 \
        [--feats_dir dump/fbank/src_train --labeled_feats dump/fbank/src_train_lab0.1_seed1 \
         --unlabeled_feats dump/fbank/src_train_unlab0.1_seed1]
"""

from __future__ import annotations

import logging
from pathlib import Path

from emorl import cli
from emorl.data.subset import write_split


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("--data_dir", type=Path, required=True, help="labeled data dir")
    parser.add_argument("--fraction", type=float, required=True, help="labeled fraction in (0, 1)")
    parser.add_argument("--seed", type=int, required=True, help="seed of the split")
    parser.add_argument("--labeled_dir", type=Path, required=True, help="output: the fraction")
    parser.add_argument(
        "--unlabeled_dir", type=Path, required=True, help="output: the rest, labels left out"
    )
    parser.add_argument("--feats_dir", type=Path, help="the data dir's feature dump")
    parser.add_argument("--labeled_feats", type=Path, help="output: the fraction's dump")
    parser.add_argument("--unlabeled_feats", type=Path, help="output: the rest's dump")
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    labeled, unlabeled = write_split(
        args.data_dir,
        args.fraction,
        args.seed,
        args.labeled_dir,
        args.unlabeled_dir,
        args.feats_dir,
        args.labeled_feats,
        args.unlabeled_feats,
    )
    logging.info(
        "%s: %d labeled -> %s, %d unlabeled -> %s",
        args.data_dir,
        len(labeled),
        args.labeled_dir,
        len(unlabeled),
        args.unlabeled_dir,
    )


if __name__ == "__main__":
    main()
