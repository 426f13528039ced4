"""Validate a Kaldi data dir against the emorl contract and print a one-line summary.

The rules are those of emorl.data.datadir.validate, with every audio file's header read (a file
that is not audio stops here, at stage 1, not in stage 2); on the first violation the error
(naming the file and line, or the utterance) is printed and the exit status is 1. The summary says
how many recordings are not at 16 kHz (stage 2 resamples them).

Usage:
    python -m emorl.bin.validate_data_dir data/train --label_set iemocap4
    utils/validate_data_dir.sh data/train --label_set iemocap4 --check_audio false   # no headers
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from emorl import cli
from emorl.data.audio import SAMPLE_RATE
from emorl.data.datadir import DataDir, DataDirError, sample_rates
from emorl.data.labels import get_label_set


def summary(data: DataDir, rates: Counter | None = None) -> str:
    """One line: utterances, speakers, recordings, hours (with utt2dur), label histogram, and the
    recordings at other sample rates than 16 kHz (``rates``: recordings per sample rate)."""
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
    other = {rate: n for rate, n in sorted((rates or {}).items()) if rate != SAMPLE_RATE}
    if other:
        counts = ", ".join(f"{n} at {rate} Hz" for rate, n in other.items())
        line += f"; recordings not at {SAMPLE_RATE} Hz (stage 2 resamples them): {counts}"
    return line


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("data_dir", type=Path, help="the data directory")
    parser.add_argument("--label_set", help="allowed utt2emo labels: a label set name or a file")
    parser.add_argument(
        "--check_audio",
        type=cli.str2bool,
        default=True,
        help="read every audio file's header (false: only check that the files exist)",
    )
    args = cli.parse_args(parser, argv)
    label_set = None
    if args.label_set is not None:
        try:
            label_set = get_label_set(args.label_set)
        except ValueError as e:
            parser.error(str(e))
    try:
        data = DataDir.load(args.data_dir, label_set=label_set)
        rates = sample_rates(data) if args.check_audio else None
    except DataDirError as e:
        print(f"validate_data_dir: {e}", file=sys.stderr)
        sys.exit(1)
    print(summary(data, rates))


if __name__ == "__main__":
    main()
