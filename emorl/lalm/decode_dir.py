"""The decode dir of an audio-LM: raw completions, parsed answers, and what the scorers read.

    task               the task decoded (emo, cap or ov)
    completions.jsonl  one json object a line, sorted by utterance: ``utt``, ``completion`` (the raw
                       text), ``answer`` (parsed; null when there is none), ``format_valid``
    hyp                ``<utt> <answer>`` (Kaldi text style: an utterance without an answer has an
                       empty text)
    captions           cap only: the same lines, the file :mod:`emorl.metrics.caption` scores

The ``emo`` task adds the files of a classifier's decode dir (:mod:`emorl.ser.decode_dir`), so that
``emorl.bin.score``, the report and B-GRPO's teacher read it like any other: ``labels`` (the label
set, then :data:`UNPARSABLE`), ``predictions`` and one-hot ``posteriors``. An answer that names no
class of the label set (none, or another word) is predicted as :data:`UNPARSABLE`: a class no
reference has, so it counts as an error without adding a class of its own to UA or macro-F1.

``--nj`` decoding jobs write ``split<NJ>/<JOB>.jsonl``; :func:`merge_decode_dir` checks that they
cover the data dir and writes the files above, ``completions.jsonl`` last. Torch-free.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emorl.atomic import atomic_write
from emorl.lalm.data import LalmDataset
from emorl.ser.decode_dir import SCORE_FILES, write_decode_dir

#: The predicted class of an answer outside the label set.
UNPARSABLE = "<unparsable>"


@dataclass
class Decoded:
    """One utterance's completion and what the parser read from it."""

    utt: str
    completion: str
    answer: str | None
    format_valid: bool
    label: str | None = None  # emo: the class the answer names, None when it names none


def job_utts(utts: Sequence[str], nj: int, job: int) -> list[str]:
    """The ``job``-th (1-based) of ``nj`` contiguous parts of ``utts`` (sizes differ by <= 1)."""
    if not 1 <= job <= nj:
        raise ValueError(f"job must be in 1..{nj}, got {job}")
    bounds = np.linspace(0, len(utts), nj + 1).round().astype(int)
    return list(utts[bounds[job - 1] : bounds[job]])


def _write_jsonl(path: Path, decoded: Sequence[Decoded]) -> None:
    with atomic_write(path) as f:
        for d in sorted(decoded, key=lambda d: d.utt):
            f.write(json.dumps(asdict(d), ensure_ascii=False) + "\n")


def read_jsonl(path: str | os.PathLike) -> list[Decoded]:
    """The decoded utterances of a ``completions.jsonl`` (or job) file; errors name the line."""
    out = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        try:
            out.append(Decoded(**json.loads(line)))
        except (json.JSONDecodeError, TypeError) as e:
            raise ValueError(f"{path}:{lineno}: not a decoded utterance ({e})") from None
    return out


def write_job(out_dir: str | os.PathLike, nj: int, job: int, decoded: Sequence[Decoded]) -> Path:
    """Write one decoding job's results to ``<out_dir>/split<nj>/<job>.jsonl``."""
    path = Path(out_dir) / f"split{nj}" / f"{job}.jsonl"
    _write_jsonl(path, decoded)
    return path


def merge_jobs(out_dir: str | os.PathLike, nj: int, utts: Sequence[str]) -> list[Decoded]:
    """The results of ``nj`` jobs, checked to cover exactly ``utts``."""
    decoded: dict[str, Decoded] = {}
    for job in range(1, nj + 1):
        path = Path(out_dir) / f"split{nj}" / f"{job}.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; decoding job {job} of {nj} did not finish")
        for d in read_jsonl(path):
            decoded[d.utt] = d
    missing = sorted(set(utts) - set(decoded))
    extra = sorted(set(decoded) - set(utts))
    if missing or extra:
        raise ValueError(
            f"{out_dir}/split{nj}: the jobs decoded other utterances than the data dir's: "
            f"{len(missing)} missing (e.g. {missing[:3]}), {len(extra)} extra (e.g. {extra[:3]})"
        )
    return [decoded[utt] for utt in sorted(decoded)]


def write_lalm_decode_dir(
    out_dir: str | os.PathLike,
    task: str,
    decoded: Sequence[Decoded],
    label_set: Sequence[str] | None = None,
) -> None:
    """Write the decode dir of ``decoded`` (see the module docstring); emo needs ``label_set``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in SCORE_FILES + ("completions.jsonl",):
        (out_dir / name).unlink(missing_ok=True)
    decoded = sorted(decoded, key=lambda d: d.utt)
    with atomic_write(out_dir / "task") as f:
        f.write(task + "\n")
    # The caption scorer's file name; imported here, as the caption metrics are slow to import.
    from emorl.metrics.caption import CAPTIONS_FILE

    lines = []
    for d in decoded:
        answer = " ".join((d.answer or "").split())  # one line per utterance
        lines.append(f"{d.utt} {answer}\n" if answer else f"{d.utt}\n")
    for name in ("hyp", CAPTIONS_FILE) if task == "cap" else ("hyp",):
        with atomic_write(out_dir / name) as f:
            f.write("".join(lines))
    if task == "emo":
        if label_set is None:
            raise ValueError("the emo task's decode dir needs the label set")
        labels = list(label_set) + [UNPARSABLE]
        index = {label: i for i, label in enumerate(labels)}
        posteriors = {}
        for d in decoded:
            one_hot = np.zeros(len(labels), dtype=np.float32)
            one_hot[index[d.label if d.label in index else UNPARSABLE]] = 1.0
            posteriors[d.utt] = one_hot
        write_decode_dir(out_dir, posteriors, labels)
    _write_jsonl(out_dir / "completions.jsonl", decoded)


def read_decoded(decode_dir: str | os.PathLike) -> list[Decoded]:
    """The decoded utterances of a complete decode dir."""
    path = Path(decode_dir) / "completions.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; run emorl.bin.decode_lalm first")
    return read_jsonl(path)


def merge_decode_dir(
    data_dir: str | os.PathLike, out_dir: str | os.PathLike, task: dict, nj: int
) -> list[Decoded]:
    """After the ``nj`` jobs: check they cover ``data_dir`` and write the decode dir.

    ``task``: the model dir's ``task.json`` (:func:`emorl.lalm.data.read_model_task`)."""
    dataset = LalmDataset.from_dir(data_dir, task["task"], need_references=False)
    decoded = merge_jobs(out_dir, nj, dataset.utts)
    write_lalm_decode_dir(out_dir, task["task"], decoded, task["label_set"])
    logging.info(
        "%s: %d utterances, %d without an answer, %d in the exact format",
        out_dir,
        len(decoded),
        sum(d.answer is None for d in decoded),
        sum(d.format_valid for d in decoded),
    )
    return decoded
