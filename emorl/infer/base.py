"""The recogniser interface, its result, and the registry of experiment-dir kinds.

A *kind* is a :class:`Recognizer` subclass registered with :func:`register_kind`: its ``kind``
name, what a dir of that kind holds (``holds``, shown when a dir matches no kind), ``detect(dir)``
(does the dir hold such a model), ``load(dir, **options)`` and ``pack_files(dir)`` (the files a
packed model of that kind carries). :meth:`Recognizer.from_exp_dir` detects the kind of a dir from
what it holds; a packed model names its kind in its manifest. A kind returns :class:`Recognition`
objects; one without class posteriors (an audio-language model) leaves ``posteriors`` empty and
puts what it generated (the raw completion, its parsed answer) into ``extra``.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


class RecognizerError(ValueError):
    """A model that cannot be loaded or packed (unknown kind, missing files, bad checksum...)."""


@dataclass
class Recognition:
    """What a recogniser says about one input.

    ``source``: the path, or ``<array N>`` for the N-th array of a call; ``label``: the predicted
    class; ``posteriors``: class -> probability, in the model's class order; ``duration``: seconds
    of audio; ``num_windows``: how many windows a long input was split into (posteriors averaged).
    """

    source: str
    label: str
    posteriors: dict[str, float]
    duration: float
    num_windows: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable classes, most probable first."""
        return sorted(self.posteriors.items(), key=lambda kv: -kv[1])[:k]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "label": self.label,
            "posteriors": dict(self.posteriors),
            "duration": round(self.duration, 3),
            "num_windows": self.num_windows,
            **self.extra,
        }


#: kind name -> Recognizer subclass (filled by register_kind).
KINDS: dict[str, type[Recognizer]] = {}

#: What a recogniser takes: a file path, or an array of samples (with its sample rate).
Input = str | os.PathLike | np.ndarray


def register_kind(cls: type[Recognizer]) -> type[Recognizer]:
    """Class decorator: make ``cls`` a kind that :meth:`Recognizer.from_exp_dir` can detect."""
    if cls.kind in KINDS:
        raise ValueError(f"exp-dir kind {cls.kind!r} is registered twice")
    KINDS[cls.kind] = cls
    return cls


def _listing(exp_dir: Path, limit: int = 12) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in exp_dir.iterdir())
    if not names:
        return "nothing (an empty dir)"
    return ", ".join(names[:limit]) + (
        f" and {len(names) - limit} more" if len(names) > limit else ""
    )


def detect_kind(exp_dir: str | os.PathLike) -> type[Recognizer]:
    """The kind of model ``exp_dir`` holds; stops saying what the dir holds when no (or more than
    one) kind matches."""
    exp_dir = Path(exp_dir)
    if not exp_dir.is_dir():
        what = "is a file, not an exp dir" if exp_dir.exists() else "does not exist"
        hint = " (a packed model? use Recognizer.from_pretrained)" if exp_dir.is_file() else ""
        raise RecognizerError(f"{exp_dir} {what}{hint}")
    matches = [cls for cls in KINDS.values() if cls.detect(exp_dir)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        kinds = "; ".join(f"{name}: {cls.holds}" for name, cls in sorted(KINDS.items()))
        raise RecognizerError(
            f"{exp_dir}: no model of a known kind; it holds {_listing(exp_dir)}. Known kinds: "
            f"{kinds}. Has its training stage finished?"
        )
    raise RecognizerError(
        f"{exp_dir}: matches several kinds ({', '.join(c.kind for c in matches)}); "
        f"it holds {_listing(exp_dir)}"
    )


class Recognizer(abc.ABC):
    """A trained model that labels audio: files (any format :func:`emorl.data.audio.decode_file`
    reads, any rate and channel count) or arrays (with their ``sample_rate``)."""

    kind: ClassVar[str]
    holds: ClassVar[str]  # what a dir of this kind holds, for errors

    @classmethod
    @abc.abstractmethod
    def detect(cls, exp_dir: Path) -> bool:
        """Whether ``exp_dir`` holds a model of this kind."""

    @classmethod
    @abc.abstractmethod
    def load(cls, model_dir: Path, **options) -> Recognizer:
        """Build the recogniser of an exp dir (or of an unpacked model) of this kind."""

    @classmethod
    @abc.abstractmethod
    def pack_files(cls, exp_dir: Path) -> tuple[dict[str, Path], dict[str, Any]]:
        """What a packed model carries: ``{name in the archive: file}`` and manifest entries
        (label set, upstream, ...)."""

    @abc.abstractmethod
    def recognize_batch(
        self, inputs: Sequence[Input], sample_rate: int | None = None
    ) -> list[Recognition]:
        """Recognise several inputs at once (batched), in the order given."""

    def recognize(self, audio: Input, sample_rate: int | None = None) -> Recognition:
        """Recognise one file or array (``sample_rate`` is required for arrays)."""
        return self.recognize_batch([audio], sample_rate)[0]

    @classmethod
    def from_exp_dir(cls, exp_dir: str | os.PathLike, **options) -> Recognizer:
        """The recogniser of an experiment dir, of the kind detected from what the dir holds.

        ``options`` go to the kind's ``load`` (SER: ``device``, ``upstream_path``,
        ``window_seconds``, ...)."""
        exp_dir = Path(exp_dir)
        if cls is Recognizer:
            return detect_kind(exp_dir).load(exp_dir, **options)
        if not (exp_dir.is_dir() and cls.detect(exp_dir)):
            raise RecognizerError(f"{exp_dir}: not a {cls.kind} exp dir (one holds {cls.holds})")
        return cls.load(exp_dir, **options)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **options) -> Recognizer:
        """The recogniser of a packed model (``emorl.bin.pack_model``), its checksums verified.
        Upstream weights are looked for on this machine by name (never downloaded)."""
        from emorl.infer.pack import load_packed

        return load_packed(path, **options)
