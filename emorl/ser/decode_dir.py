"""The decode directory: what inference writes and what scoring and B-GRPO's teacher read.

    labels           the class order, one per line
    predictions      <utt> <label>   (the most probable class; sorted by utterance)
    posteriors.ark   kaldiio; utt -> float32 vector [C] (softmax over the classes in ``labels``)
    posteriors.scp   its index

Torch-free, so that scoring starts fast.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import kaldiio
import numpy as np

from emorl.atomic import atomic_write
from emorl.data.datadir import write_table

#: Files that scoring writes into a decode dir; removed when the decode dir is rewritten.
SCORE_FILES = ("scores.json", "confusion.txt", "confusion.png")


def write_decode_dir(
    out_dir: str | os.PathLike, posteriors: dict[str, np.ndarray], labels: Sequence[str]
) -> None:
    """Write ``labels``, ``posteriors.{ark,scp}`` and ``predictions`` into ``out_dir``.

    Each file is written atomically; ``predictions`` last, so its presence means a complete
    decode. Stale scoring outputs of an earlier decode are removed first.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in SCORE_FILES + ("predictions",):
        (out_dir / name).unlink(missing_ok=True)
    utts = sorted(posteriors)
    for utt in utts:
        if posteriors[utt].shape != (len(labels),):
            raise ValueError(
                f"{utt}: posterior of shape {posteriors[utt].shape} for {len(labels)} labels"
            )
    with atomic_write(out_dir / "labels") as f:
        f.write("".join(f"{label}\n" for label in labels))
    ark = out_dir / "posteriors.ark"
    index = io.StringIO()
    with atomic_write(ark, "wb") as f:
        kaldiio.save_ark(
            f, {utt: np.asarray(posteriors[utt], dtype=np.float32) for utt in utts}, scp=index
        )
    # kaldiio names the temporary file in the index; point each entry at the final ark instead.
    with atomic_write(out_dir / "posteriors.scp") as f:
        for line in index.getvalue().splitlines():
            utt, position = line.split(" ", 1)[0], line.rsplit(":", 1)[1]
            f.write(f"{utt} {ark}:{position}\n")
    write_table(
        out_dir / "predictions", {utt: labels[int(np.argmax(posteriors[utt]))] for utt in utts}
    )


def read_labels(path: str | os.PathLike) -> list[str]:
    """A ``labels`` file: one class per line."""
    labels = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    if not labels:
        raise ValueError(f"{path}: no labels")
    return labels


def read_posteriors(decode_dir: str | os.PathLike) -> tuple[list[str], dict[str, np.ndarray]]:
    """A decode dir's ``(labels, utt -> float32 [C])``, read from its ark (even if moved)."""
    decode_dir = Path(decode_dir)
    labels = read_labels(decode_dir / "labels")
    ark = decode_dir / "posteriors.ark"
    if not ark.is_file():
        raise FileNotFoundError(f"{ark}: missing; run inference (infer_ser) first")
    posteriors = {}
    for utt, vec in kaldiio.load_ark(str(ark)):
        vec = np.asarray(vec, dtype=np.float32)
        if vec.shape != (len(labels),):
            raise ValueError(
                f"{ark}: {utt} has shape {vec.shape}, "
                f"expected [{len(labels)}] per {decode_dir / 'labels'}"
            )
        posteriors[utt] = vec
    return labels, posteriors
