"""Helpers of the SFT and decoding tests: a tiny labelled data dir and its SFT targets."""

from __future__ import annotations

import shutil
from pathlib import Path

import soundfile
from lalm_fixtures import synth_wave

from emorl.data.datadir import DataDir
from emorl.lalm.data import LalmDataset
from emorl.lalm.prompts import render_target
from emorl.lalm.sft import SftConfig
from emorl.lalm.targets import write_targets

LABELS = ("angry", "fear", "happy", "neutral", "sad", "surprise")  # LABEL_SETS["mini_emo"]


def make_data_dir(root: Path, name: str, num_utts: int, seed: int = 0) -> Path:
    """``root/name``: ``num_utts`` synthetic clips (0.6-1.5 s) with labels and transcripts,
    and ``root/name/targets`` in the answer format."""
    wav_dir = root / "wav" / name
    wav_dir.mkdir(parents=True, exist_ok=True)
    tables: dict[str, dict[str, str]] = {
        "wav_scp": {}, "utt2spk": {}, "utt2emo": {}, "text": {}, "utt2caption": {},
        "utt2ovlabels": {},
    }  # fmt: skip
    for i in range(num_utts):
        utt = f"{name}_{i:03d}"
        path = wav_dir / f"{utt}.wav"
        soundfile.write(path, synth_wave(0.6 + 0.1 * (i % 10), seed=seed + i), 16000)
        label = LABELS[i % len(LABELS)]
        tables["wav_scp"][utt] = str(path)
        tables["utt2spk"][utt] = f"spk{i % 2}"
        tables["utt2emo"][utt] = label
        tables["text"][utt] = f"this is sentence {i}"
        tables["utt2caption"][utt] = f"The speaker sounds {label}."
        tables["utt2ovlabels"][utt] = label
    path = root / name
    DataDir(**tables).write(path)
    write_targets(
        path / "targets", {u: render_target("answer", e) for u, e in tables["utt2emo"].items()}
    )
    return path


def tiny_config(whisper: Path, **options) -> SftConfig:
    """An SFT config of a tiny mini-kind model (tiny random Whisper tower, 2-layer text model)."""
    values = dict(
        task="emo", format="answer", label_set="mini_emo", whisper_checkpoint=str(whisper),
        vocab_size=300, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, lr=3e-3, warmup_steps=1, batch_size=4, max_steps=3,
        eval_every=3, save_every=1, keep_last=5, dev_max_new_tokens=8, seed=3, device="cpu",
    )  # fmt: skip
    values.update(options)
    return SftConfig(**values)


def datasets(root: Path) -> tuple[LalmDataset, LalmDataset]:
    """The training and dev sets of ``make_data_dir(root, "train")`` and ``(root, "dev")``."""
    return (
        LalmDataset.from_dir(root / "train", "emo", root / "train" / "targets"),
        LalmDataset.from_dir(root / "dev", "emo", root / "dev" / "targets"),
    )


def cut_after(full: Path, cut: Path, step: int) -> None:
    """``cut``: a copy of the finished SFT run ``full`` as if interrupted after ``step``, whose
    next step was its last: that step's checkpoint, model and scores never happened."""
    shutil.copytree(full, cut)
    shutil.rmtree(cut / "model")
    name = f"checkpoints/step{step + 1:08d}"
    for path in ("best.json", f"{name}.pt", f"{name}.json"):
        (cut / path).unlink()
