r"""Write automatic SFT targets of a data dir in an output format (answer, think or esr).

Content comes from the transcript (``text``; empty without one), acoustics from eGeMAPS
functionals (z-scored per speaker by default) put into words by tertile thresholds estimated on
the training set, summary and answer from ``utt2emo`` (emo), ``utt2caption`` (cap) or
``utt2ovlabels`` (ov); see emorl.lalm.targets.
The output is ``<utt> <target>`` a line (``\n`` escaped). The eGeMAPS functionals are computed from
the audio, or read from a stage-2 dump of the ``egemaps`` upstream (--egemaps_dump).

Usage:
    # the training set: estimate the thresholds and write them
    python -m emorl.bin.make_sft_targets --data_dir data/src_train --task emo --format esr \
        --thresholds exp/lalm/acoustic_thresholds.json --estimate_thresholds true \
        --output exp/lalm/targets/src_train/targets
    # any other set: reuse them
    python -m emorl.bin.make_sft_targets --data_dir data/src_dev --task emo --format esr \
        --thresholds exp/lalm/acoustic_thresholds.json \
        --egemaps_dump dump/egemaps/src_dev --output exp/lalm/targets/src_dev/targets
"""

from __future__ import annotations

from pathlib import Path

from emorl import cli
from emorl.lalm.prompts import FORMATS, TASKS
from emorl.lalm.targets import NORMALISATIONS, make_sft_targets


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("--data_dir", type=Path, required=True, help="Kaldi data dir")
    parser.add_argument("--task", choices=TASKS, required=True, help="emo, cap or ov")
    parser.add_argument("--format", choices=FORMATS, required=True, help="answer, think or esr")
    parser.add_argument("--output", type=Path, required=True, help="the targets file to write")
    parser.add_argument(
        "--thresholds", type=Path, help="acoustic thresholds json (formats think and esr)"
    )
    parser.add_argument(
        "--estimate_thresholds",
        type=cli.str2bool,
        default=False,
        help="estimate the thresholds on this data dir (the training set) and write them",
    )
    parser.add_argument(
        "--egemaps_dump", type=Path, help="stage-2 dump of the egemaps functionals to read"
    )
    parser.add_argument("--batch_size", type=int, default=16, help="utterances per openSMILE batch")
    parser.add_argument(
        "--normalise",
        choices=NORMALISATIONS,
        default="speaker",
        help="z-score the descriptors per speaker (utt2spk) before the thresholds, or not",
    )
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    make_sft_targets(
        args.data_dir,
        args.task,
        args.format,
        args.output,
        thresholds_path=args.thresholds,
        estimate_thresholds=args.estimate_thresholds,
        egemaps_dump=args.egemaps_dump,
        batch_size=args.batch_size,
        normalise=args.normalise,
    )


if __name__ == "__main__":
    main()
