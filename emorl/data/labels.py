"""Label sets per corpus protocol, and label maps between them (for cross-corpus work).

Labels are lower-case English emotion names shared across corpora (``happy``, not ``hap`` or
``joy``), so that a model trained on one corpus can be scored on another through a label map.
Corpus preparers map their raw codes onto these names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

LABEL_SETS: dict[str, tuple[str, ...]] = {
    "mini_emo": ("angry", "fear", "happy", "neutral", "sad", "surprise"),
    "iemocap4": ("angry", "happy", "neutral", "sad"),
    "iemocap6": ("angry", "excited", "frustrated", "happy", "neutral", "sad"),
    "meld": ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
    "ravdess": ("angry", "calm", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
    "cremad": ("angry", "disgust", "fear", "happy", "neutral", "sad"),
    "esd": ("angry", "happy", "neutral", "sad", "surprise"),
    "msppodcast": ("angry", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
    "casia": ("angry", "fear", "happy", "neutral", "sad", "surprise"),
    "cafe": ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
    "m3ed": ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
    "emotiontalk": ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
    "mer2023": ("angry", "happy", "neutral", "sad", "surprise", "worried"),
}


def get_label_set(name_or_path: str | os.PathLike) -> tuple[str, ...]:
    """A label set by registry name, or read from a file with one label per line."""
    if str(name_or_path) in LABEL_SETS:
        return LABEL_SETS[str(name_or_path)]
    path = Path(name_or_path)
    if path.is_file():
        labels = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
        if len(set(labels)) != len(labels):
            raise ValueError(f"{path}: duplicate labels")
        return labels
    raise ValueError(
        f"unknown label set {str(name_or_path)!r}: give a file or one of {sorted(LABEL_SETS)}"
    )


def read_label_map(path: str | os.PathLike) -> dict[str, str]:
    """Read a label map, ``<from> <to>`` per line (``#`` comments allowed)."""
    mapping = {}
    for lineno, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"{path}:{lineno}: expected '<from> <to>', got {line!r}")
        if parts[0] in mapping:
            raise ValueError(f"{path}:{lineno}: label {parts[0]!r} mapped twice")
        mapping[parts[0]] = parts[1]
    return mapping


def map_labels(
    labels: dict[str, str], mapping: dict[str, str], target_set: Sequence[str] | None = None
) -> tuple[dict[str, str], dict[str, int]]:
    """Map ``utt -> label`` through ``mapping``; labels already in ``target_set`` pass unchanged.

    Returns the mapped labels and the count of each label that could not be mapped (never dropped
    silently: the caller reports them).
    """
    mapped, unmapped = {}, {}
    allowed = set(target_set) if target_set is not None else None
    for utt, label in labels.items():
        new = mapping.get(label, label if allowed is not None and label in allowed else None)
        if new is None or (allowed is not None and new not in allowed):
            unmapped[label] = unmapped.get(label, 0) + 1
        else:
            mapped[utt] = new
    return mapped, unmapped
