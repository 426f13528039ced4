"""How long scoring takes for many utterances (target: 100k utterances in under 5 s).

Writes a synthetic utt2emo and decode dir (7 classes, ~60% correct) into a temporary dir, then
times each part of `python -m emorl.bin.score` and the whole, and prints a table.

Usage:
    python bench/score_speed.py [--num_utts 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from emorl.bin.score import score_decode_dir
from emorl.data.datadir import read_table, write_table
from emorl.metrics.ser import score_predictions

LABELS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]


def make_inputs(root: Path, num_utts: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    refs = rng.integers(0, len(LABELS), num_utts)
    hyps = np.where(rng.random(num_utts) < 0.6, refs, rng.integers(0, len(LABELS), num_utts))
    utts = [f"spk{i % 97:02d}-utt{i:07d}" for i in range(num_utts)]
    data_dir, decode_dir = root / "data", root / "decode"
    write_table(data_dir / "utt2emo", {u: LABELS[r] for u, r in zip(utts, refs)})
    write_table(decode_dir / "predictions", {u: LABELS[h] for u, h in zip(utts, hyps)})
    (decode_dir / "labels").write_text("".join(f"{label}\n" for label in LABELS))
    return data_dir, decode_dir


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--num_utts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, decode_dir = make_inputs(Path(tmp), args.num_utts)
        refs, hyps = read_table(data_dir / "utt2emo"), read_table(decode_dir / "predictions")
        cli = [
            sys.executable,
            "-m",
            "emorl.bin.score",
            "--data_dir",
            str(data_dir),
            "--decode_dir",
            str(decode_dir),
        ]

        def read_both():
            return read_table(data_dir / "utt2emo"), read_table(decode_dir / "predictions")

        runs = {
            "read utt2emo + predictions": read_both,
            "metrics (UA, WA, F1s, per class, confusion)": lambda: score_predictions(
                refs, hyps, LABELS
            ),
            "score_decode_dir (+ scores.json, confusion.txt/.png)": lambda: score_decode_dir(
                data_dir, decode_dir
            ),
            "python -m emorl.bin.score (whole process)": lambda: subprocess.run(
                cli, check=True, capture_output=True
            ),
        }
        rows = [(name, best_of(args.repeats, fn)) for name, fn in runs.items()]
    width = max(len(name) for name, _ in rows)
    print(f"scoring {args.num_utts} utterances, {len(LABELS)} classes (best of {args.repeats})")
    print(f"{'part'.ljust(width)}  seconds")
    for name, seconds in rows:
        print(f"{name.ljust(width)}  {seconds:7.3f}")
    met = rows[-1][1] < 5 * args.num_utts / 100_000
    print(f"{'target: < 5 s per 100k (whole process)'.ljust(width)}  {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
