"""Audio-LM examples: a Kaldi data dir (and an SFT targets file) as (audio, reference, target).

Each task declares the tables it reads, as ESPnet's ``required_data_names`` does, and a data dir
is checked for exactly those before anything is loaded:

    task  required      optional  reference given to the scorer and rewards
    emo   utt2emo       text      the emotion label
    cap   utt2caption   text      the reference caption
    ov    utt2ovlabels  text      the list of open-vocabulary emotion words

``wav.scp`` and ``utt2spk`` are always required. Training (SFT) also reads a ``targets`` file
(``<utt> <target>``, written by ``emorl.bin.make_sft_targets``) covering every utterance.
Batches group utterances of similar duration, so that little of a batch is padding.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from emorl.data.audio import SAMPLE_RATE, load_utterance
from emorl.data.datadir import DataDir, DataDirError
from emorl.lalm.targets import read_targets

#: Per task: the utterance tables it needs and those it reads when present.
REQUIRED_DATA_NAMES: dict[str, tuple[str, ...]] = {
    "emo": ("utt2emo",),
    "cap": ("utt2caption",),
    "ov": ("utt2ovlabels",),
}
OPTIONAL_DATA_NAMES: dict[str, tuple[str, ...]] = {
    "emo": ("text",),
    "cap": ("text",),
    "ov": ("text",),
}
TASKS = tuple(REQUIRED_DATA_NAMES)
#: What a fine-tuned model dir was trained for (task, format, label set, prompt), written by SFT.
MODEL_TASK_FILE = "task.json"


def required_data_names(task: str) -> tuple[str, ...]:
    """The files a data dir must hold for ``task`` (besides ``wav.scp`` and ``utt2spk``)."""
    if task not in REQUIRED_DATA_NAMES:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    return REQUIRED_DATA_NAMES[task]


def load_task_data(
    path: str | os.PathLike, task: str, need_references: bool = True, **validate_kwargs
) -> DataDir:
    """Load and validate a data dir for ``task``; a missing required file is named in the error.

    ``need_references=False`` (decoding an unlabeled set) asks only for the audio tables.
    """
    path = Path(path)
    needed = ("wav.scp", "utt2spk") + (required_data_names(task) if need_references else ())
    missing = [name for name in needed if not (path / name).is_file()]
    if missing:
        raise DataDirError(
            f"{path}: missing {', '.join(missing)} (the {task!r} task needs "
            f"{', '.join(needed)}; optional: {', '.join(OPTIONAL_DATA_NAMES[task])})"
        )
    return DataDir.load(path, **validate_kwargs)


def references(data: DataDir, task: str) -> dict[str, str | list[str]]:
    """``utt -> reference``: the label (emo), the caption (cap) or the emotion words (ov)."""
    if task == "emo":
        return dict(data.utt2emo)
    if task == "cap":
        return dict(data.utt2caption)
    if task == "ov":
        return {utt: data.ovlabels(utt) for utt in data.utts}
    raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")


def read_task_targets(path: str | os.PathLike, utts: Sequence[str]) -> dict[str, str]:
    """The SFT targets of ``utts`` from a ``targets`` file; an utterance without one is named."""
    if not Path(path).is_file():
        raise DataDirError(f"{path}: no such targets file; run emorl.bin.make_sft_targets")
    targets = read_targets(path)
    missing = [utt for utt in utts if utt not in targets]
    if missing:
        raise DataDirError(
            f"{path}: no target for {len(missing)} utterances of the data dir "
            f"(e.g. {missing[:3]}); rerun emorl.bin.make_sft_targets on this data dir"
        )
    return {utt: targets[utt] for utt in utts}


def durations(data: DataDir) -> dict[str, float]:
    """Seconds per utterance: ``utt2dur`` when present, else the audio files' headers."""
    if data.utt2dur is not None:
        return {utt: float(dur) for utt, dur in data.utt2dur.items()}
    if data.segments is not None:
        return {
            utt: float(seg.split()[2]) - float(seg.split()[1]) for utt, seg in data.segments.items()
        }
    out = {}
    for utt in data.utts:
        spec = data.wav_scp[utt]
        if spec.rstrip().endswith("|"):
            out[utt] = len(load_utterance(data, utt)) / SAMPLE_RATE
        else:
            try:
                out[utt] = soundfile.info(spec).duration
            except Exception as e:  # soundfile's LibsndfileError, or OSError
                raise DataDirError(f"{utt}: {spec}: cannot read the audio header ({e})") from None
    return out


@dataclass
class Example:
    """One utterance: its waveform (16 kHz float32), reference and SFT target."""

    utt: str
    wave: np.ndarray
    reference: str | list[str] | None = None
    target: str | None = None


class LalmDataset:
    """The utterances of a data dir for one task, audio read on access."""

    def __init__(
        self,
        data: DataDir,
        task: str,
        targets: dict[str, str] | None = None,
        need_references: bool = True,
    ):
        self.data = data
        self.task = task
        self.utts = data.utts
        self.references = references(data, task) if need_references else None
        self.targets = targets
        self.durations = durations(data)

    @classmethod
    def from_dir(
        cls,
        path: str | os.PathLike,
        task: str,
        targets_file: str | os.PathLike | None = None,
        need_references: bool = True,
    ) -> LalmDataset:
        """Check ``path`` for the task's files, then read it (and the targets file, if given)."""
        data = load_task_data(path, task, need_references=need_references)
        targets = read_task_targets(targets_file, data.utts) if targets_file else None
        return cls(data, task, targets, need_references)

    def __len__(self) -> int:
        return len(self.utts)

    def example(self, utt: str) -> Example:
        return Example(
            utt=utt,
            wave=load_utterance(self.data, utt),
            reference=None if self.references is None else self.references[utt],
            target=None if self.targets is None else self.targets[utt],
        )

    def batches(
        self, batch_size: int, shuffle: bool = False, seed: int = 0, epoch: int = 0
    ) -> list[list[str]]:
        """Utterance ids in batches of similar duration (see :func:`length_batches`)."""
        return length_batches(self.durations, batch_size, shuffle, seed, epoch)


def length_batches(
    lengths: dict[str, float], batch_size: int, shuffle: bool = False, seed: int = 0, epoch: int = 0
) -> list[list[str]]:
    """Batches of ``batch_size`` utterances taken in order of length.

    With ``shuffle``, utterances of equal length are ordered at random and the batch order is
    shuffled, both from ``(seed, epoch)`` alone: a resumed run sees the same batches again.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rng = random.Random(f"{seed}:{epoch}")
    utts = sorted(lengths)
    if shuffle:
        rng.shuffle(utts)
    utts.sort(key=lambda u: lengths[u])  # stable: ties keep the (shuffled) order
    batches = [utts[i : i + batch_size] for i in range(0, len(utts), batch_size)]
    if shuffle:
        rng.shuffle(batches)
    return batches


def read_model_task(model_dir: str | os.PathLike) -> dict:
    """A fine-tuned model dir's ``task.json``: ``task``, ``format``, ``label_set``, ``prompt``."""
    path = Path(model_dir) / MODEL_TASK_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; is {model_dir} a model dir written by SFT?")
    return json.loads(path.read_text())
