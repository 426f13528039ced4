"""A small real stage-3 experiment for the recogniser tests: synthetic wavs, an fbank dump made by
stage 2's code (40 mel bins, frames averaged in pairs, stored as float16: options the recogniser
must reproduce), a classifier trained by emorl.bin.train_ser, decoded and scored on a test set.

Everything runs from ``root`` with relative paths, as a recipe does, so that the exp dir's
config.yaml names its dump relative to the recipe dir."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import soundfile

from emorl.bin import infer_ser, score, train_ser
from emorl.data.datadir import DataDir
from emorl.data.feats import FeatsInfo
from emorl.ser.model import SERClassifier, save_model
from emorl.upstream import get_upstream
from emorl.upstream.dump import DumpOptions, extract_job, merge

LABELS = ["angry", "happy", "neutral", "sad"]  # label set iemocap4
SETS = {"train": 24, "dev": 8, "test": 8}
UPSTREAM_OPTIONS = {"fbank_num_mel_bins": 40}
EXP = "exp/fbank/ser_ser/seed1"


def speechlike(seconds: float, label: int, seed: int, sr: int = 16000) -> np.ndarray:
    """A harmonic tone whose pitch level and loudness depend on the class, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = (110 + 45 * label + rng.uniform(-10, 10)) * (1 + 0.1 * np.sin(2 * np.pi * 2 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    wave = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.08 + 0.05 * label)
    return (wave + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


@contextlib.contextmanager
def chdir(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def make_ser_exp(root: Path) -> Path:
    """Build the experiment under ``root``; returns its exp dir (absolute)."""
    root.mkdir(parents=True, exist_ok=True)
    upstream = get_upstream("fbank", **UPSTREAM_OPTIONS)
    with chdir(root):
        seed = 0
        for name, size in SETS.items():
            wav_scp, utt2emo = {}, {}
            for i in range(size):
                utt = f"{name}_{i:03d}"
                path = Path("wav") / f"{utt}.wav"
                path.parent.mkdir(exist_ok=True)
                seconds = 0.6 + 0.1 * (i % 7)
                soundfile.write(path, speechlike(seconds, i % 4, seed), 16000, subtype="PCM_16")
                seed += 1
                wav_scp[utt], utt2emo[utt] = str(path.resolve()), LABELS[i % 4]
            DataDir(wav_scp=wav_scp, utt2spk={u: "spk1" for u in wav_scp}, utt2emo=utt2emo).write(
                Path("data") / name
            )
            data = DataDir.load(Path("data") / name)
            extract_job(
                data,
                upstream,
                Path("dump/fbank") / name,
                DumpOptions(
                    downsample=2,
                    dtype="float16",
                    max_batch_size=4,
                    extra={"upstream_options": UPSTREAM_OPTIONS},
                ),
            )
            merge(data, Path("dump/fbank") / name, nj=1)
        train_ser.main(
            [
                "--label_set", "iemocap4",
                "--train_data", "data/train", "--train_feats", "dump/fbank/train",
                "--dev_data", "data/dev", "--dev_feats", "dump/fbank/dev",
                "--exp_dir", EXP, "--seed", "1", "--batch_size", "8", "--hidden_dims", "16",
                "--lr", "0.005", "--max_epochs", "8",
            ]
        )  # fmt: skip
        decode = f"{EXP}/decode_test"
        infer_ser.main(["--model_dir", EXP, "--feats_dir", "dump/fbank/test", "--out_dir", decode])
        score.main(["--data_dir", "data/test", "--decode_dir", decode])
    return (root / EXP).resolve()


def whisper_small_model(model_dir: Path, checkpoint: str) -> Path:
    """A classifier over whisper_small mean+std features (13 layers x 2 x 768), with the
    feats_info.json of its dump in the dir, as a packed model holds it."""
    feats = {"upstream": "whisper_small", "layers": list(range(13)), "dim": 1536}
    model = SERClassifier(input_dim=1536, num_layers=13, num_classes=4, hidden_dims=[4])
    save_model(
        model, model_dir, LABELS, {**model.config, "feats": {**feats, "pooling": "mean_std"}}
    )
    FeatsInfo(
        **feats,
        frame_rate=None,
        pooling="mean_std",
        extra={
            "upstream": {"checkpoint": checkpoint, "pad30": False},
            "upstream_options": {},
            "downsample": 1,
        },
    ).save(model_dir)
    return model_dir
