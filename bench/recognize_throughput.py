r"""Throughput of ``emorl.bin.recognize`` on many short files: wall clock of the whole command
(start-up and model loading included) for each ``--nj``, and of the Python API in one process
(loading timed apart).

The files are ``--num_files`` clips of ``--seconds`` s, 16 kHz mono wavs cut from the wavs of
``--source_data`` (a data dir, e.g. the mini recipe's data/src_test: real synthetic speech, looped
when short), or harmonic tones when it is not given. Prints a markdown table.

Usage:
    python bench/recognize_throughput.py \
        --exp_dir egs/mini_emo/emo1/exp/whisper_tiny.en/ser_ser/seed1 \
        --source_data egs/mini_emo/emo1/data/src_test --nj "1 2"
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

from emorl.data.audio import read_audio
from emorl.data.datadir import DataDir
from emorl.infer import Recognizer

SR = 16000


def make_clips(out_dir: Path, num_files: int, seconds: float, source_data: Path | None) -> None:
    """``num_files`` wavs of ``seconds`` s cut from the data dir's audio (or tones)."""
    size = int(seconds * SR)
    if source_data is not None:
        data = DataDir.load(source_data)
        stream = np.concatenate([read_audio(data.wav_scp[u]) for u in data.utts])
        stream = np.tile(stream, -(-num_files * size // stream.size))
    else:
        t = np.arange(num_files * size) / SR
        stream = (0.3 * np.sin(2 * np.pi * 180 * t * (1 + 0.1 * np.sin(t)))).astype(np.float32)
    out_dir.mkdir(parents=True, exist_ok=True)
    for i in range(num_files):
        soundfile.write(out_dir / f"clip{i:04d}.wav", stream[i * size : (i + 1) * size], SR)


def run_cli(exp_dir: Path, inputs: list[str], nj: int, files_per_batch: int) -> float:
    """Seconds of one recognize command (output discarded)."""
    cmd = [sys.executable, "-m", "emorl.bin.recognize", "--exp_dir", str(exp_dir), *inputs]
    cmd += ["--nj", str(nj), "--files_per_batch", str(files_per_batch)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exp_dir", type=Path, required=True, help="exp dir of a trained model")
    parser.add_argument(
        "--source_data", type=Path, help="data dir whose audio the clips are cut from"
    )
    parser.add_argument("--num_files", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--nj", default="1 2", help="job counts to time, e.g. '1 2'")
    parser.add_argument("--files_per_batch", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        clips = Path(tmp) / "clips"
        make_clips(clips, args.num_files, args.seconds, args.source_data)
        audio = args.num_files * args.seconds
        rows = []
        one = run_cli(args.exp_dir, [str(clips / "clip0000.wav")], 1, args.files_per_batch)
        rows.append(("CLI, 1 file (start-up + load)", 1, 1, one, None))
        for nj in (int(x) for x in args.nj.split()):
            wall = run_cli(args.exp_dir, [str(clips)], nj, args.files_per_batch)
            rows.append((f"CLI, --nj {nj}", nj, args.num_files, wall, audio))

        torch.set_num_threads(1)
        start = time.perf_counter()
        rec = Recognizer.from_exp_dir(args.exp_dir)
        load = time.perf_counter() - start
        files = sorted(str(p) for p in clips.iterdir())
        start = time.perf_counter()
        for i in range(0, len(files), args.files_per_batch):
            rec.recognize_batch(files[i : i + args.files_per_batch])
        api = time.perf_counter() - start
        rows.append((f"API in process (model load {load:.1f} s apart)", 1, len(files), api, audio))

    print(
        f"{args.num_files} files of {args.seconds:g} s, {args.exp_dir}, one torch thread per job, "
        f"{os.cpu_count()} CPUs\n"
    )
    print("| how | jobs | files | wall s | files/s | RTF |")
    print("|---|---:|---:|---:|---:|---:|")
    for how, nj, n, wall, seconds in rows:
        rtf = f"{wall / seconds:.4f}" if seconds else "-"
        print(f"| {how} | {nj} | {n} | {wall:.1f} | {n / wall:.1f} | {rtf} |")


if __name__ == "__main__":
    main()
