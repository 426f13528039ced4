"""Validate a Kaldi data dir against the emorl contract and print a one-line summary.

The rules are those of emorl.data.datadir.validate; on the first violation the error (naming the
file and line, or the utterance) is printed and the exit status is 1.

Usage:
    python -m emorl.bin.validate_data_dir data/train --label_set iemocap4 --check_audio true
    utils/validate_data_dir.sh data/train --label_set iemocap4
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from emorl import cli
from emorl.data.datadir import DataDir, DataDirError
from emorl.data.labels import get_label_set


def summary(data: DataDir) -> str:
    """One line: utterances, speakers, recordings, hours (with utt2dur), label histogram."""
    parts = [f"{len(data.utt2spk)} utterances", f"{len(data.spk2utt)} speakers"]
    if data.segments is not None:
        parts.append(f"{len(data.wav_scp)} recordings")
    if data.utt2dur is not None:
        parts.append(f"{sum(float(d) for d in data.utt2dur.values()) / 3600:.2f} h")
    line = f"{data.path}: " + ", ".join(parts)
    if data.utt2emo is not None:
        counts = sorted(Counter(data.utt2emo.values()).items())
        line += "; labels: " + " ".join(f"{label}={n}" for label, n in counts)
    else:
        line += "; unlabeled"
    return line


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("data_dir", type=Path, help="the data directory")
    parser.add_argument("--label_set", help="allowed utt2emo labels: a label set name or a file")
    parser.add_argument(
        "--check_audio", type=cli.str2bool, default=False, help="open every audio file (slower)"
    )
    args = cli.parse_args(parser, argv)
    label_set = None
    if args.label_set is not None:
        try:
            label_set = get_label_set(args.label_set)
        except ValueError as e:
            parser.error(str(e))
    try:
        data = DataDir.load(args.data_dir, label_set=label_set, check_audio=args.check_audio)
    except DataDirError as e:
        print(f"validate_data_dir: {e}", file=sys.stderr)
        sys.exit(1)
    print(summary(data))


if __name__ == "__main__":
    main()
