"""The ``ser`` kind: a classifier of stage 3 or 4 (``emorl.ser.model``) over upstream features.

The upstream is rebuilt from the ``feats_info.json`` of the dump the model was trained on (found
through the exp dir's ``config.yaml``: ``train_feats`` for stage 3, ``unlabeled_feats`` for stage
4; a packed model carries the file): the same name, upstream options, layers, pooling, frame
downsampling and storage type, and the features go through the dump's own code
(:func:`emorl.upstream.dump.encode`), so that a file gives the posteriors stage 3 gives it.

Long inputs: an input longer than ``window_seconds`` (default 30 s, the input window of Whisper
encoders) is split into near-equal windows of at most that length
(:func:`emorl.upstream.base.split_windows`); each window is classified on its own and the
posteriors are averaged (unweighted: the windows differ in length by less than their number of
samples). ``window_seconds=0`` classifies the whole input at once, as stage 2 would.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from emorl.data.audio import SAMPLE_RATE, AudioError
from emorl.data.feats import FeatsInfo
from emorl.infer.audio import InputReader
from emorl.infer.base import Input, Recognition, Recognizer, RecognizerError, register_kind
from emorl.ser.infer import predict_posteriors
from emorl.ser.model import SERClassifier, check_dump_matches, load_model
from emorl.upstream import Upstream, UpstreamError, get_upstream
from emorl.upstream.base import check_waveform, split_windows
from emorl.upstream.dump import encode, length_sorted_batches

#: Keys of an upstream's ``describe()`` that say where its weights were, not what they are.
PATH_KEYS = ("checkpoint", "model_dir")
#: Keys of an exp dir's config.yaml naming the dump the model was trained on, by stage.
FEATS_KEYS = ("train_feats", "unlabeled_feats")
DEFAULT_WINDOW_SECONDS = 30.0


def _candidates(exp_dir: Path, config: dict, recorded: str) -> list[Path]:
    """Where a relative path of ``config.yaml`` may be: the cwd, and the dir the training ran
    from (found by taking the recorded ``exp_dir`` off the end of the real one)."""
    if os.path.isabs(recorded):
        return [Path(recorded)]
    out = [Path.cwd() / recorded]
    parts = Path(str(config.get("exp_dir", ""))).parts
    real = exp_dir.resolve().parts
    if parts and not os.path.isabs(config["exp_dir"]) and real[-len(parts) :] == parts:
        out.append(Path(*real[: -len(parts)]) / recorded)
    return out


def training_feats_info(exp_dir: str | os.PathLike) -> Path:
    """``feats_info.json`` of the dump the model of ``exp_dir`` was trained on: the dir's own
    (a packed model) or that of the dump its ``config.yaml`` names."""
    exp_dir = Path(exp_dir)
    if (exp_dir / "feats_info.json").is_file():
        return exp_dir / "feats_info.json"
    config_path = exp_dir / "config.yaml"
    if not config_path.is_file():
        raise RecognizerError(
            f"{config_path}: missing; the recogniser reads from it which feature dump the model "
            "was trained on"
        )
    config = yaml.safe_load(config_path.read_text()) or {}
    key = next((k for k in FEATS_KEYS if config.get(k)), None)
    if key is None:
        raise RecognizerError(f"{config_path}: names no feature dump ({' or '.join(FEATS_KEYS)})")
    candidates = [c / "feats_info.json" for c in _candidates(exp_dir, config, str(config[key]))]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    places = "\n".join(f"  {c}" for c in candidates)
    raise RecognizerError(
        f"{config_path}: {key} {config[key]}: its feats_info.json (how the features were made) "
        f"is not at any of:\n{places}\nRun from the recipe dir, or pack the model where the dump "
        "is (emorl.bin.pack_model) and use the packed model"
    )


def build_upstream(
    info: FeatsInfo, device: str, upstream_path: str | None = None, where: str = ""
) -> Upstream:
    """The upstream of a dump, with the options it was made with; its description (dims,
    options) must equal the recorded one. Weights: ``upstream_path``, else the file the dump was
    made with if it is on this machine, else the upstream's own search by name."""
    recorded = dict(info.extra.get("upstream", {}))
    recorded_path = next((recorded[k] for k in PATH_KEYS if recorded.get(k)), None)
    path = upstream_path
    if path is None and recorded_path is not None and Path(recorded_path).exists():
        path = recorded_path
    options = dict(info.extra.get("upstream_options") or {})
    try:
        upstream = get_upstream(info.upstream, path, device=device, **options)
    except UpstreamError as e:
        made = f" (made with {recorded_path}, not on this machine)" if recorded_path else ""
        raise RecognizerError(
            f"{where}: the model was trained on {info.upstream} features{made}, and that "
            f"upstream cannot be built here: {e}"
        ) from None
    built = {k: v for k, v in upstream.describe().items() if k not in PATH_KEYS}
    wanted = {k: v for k, v in recorded.items() if k not in PATH_KEYS}
    built = yaml.safe_load(yaml.safe_dump(built))  # tuples -> lists, as the json holds them
    if wanted and built != wanted:
        diff = sorted(k for k in set(built) | set(wanted) if built.get(k) != wanted.get(k))
        changes = ", ".join(f"{k} {wanted.get(k)!r} then, {built.get(k)!r} now" for k in diff)
        raise RecognizerError(
            f"{where}: {info.upstream} here differs from the one the features were made with in "
            f"{diff}: {changes}"
        )
    return upstream


@register_kind
class SERRecognizer(Recognizer):
    """Upstream features, then a stage-3 or stage-4 classifier: a label and class posteriors."""

    kind = "ser"
    holds = "model.pt and labels (an SER classifier of stage 3 or 4)"

    def __init__(
        self,
        model: SERClassifier,
        labels: list[str],
        info: FeatsInfo,
        upstream: Upstream,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        batch_seconds: float = 60.0,
        max_batch_size: int = 16,
        batch_size: int = 64,
    ):
        self.model = model.eval()
        self.labels = list(labels)
        self.info = info
        self.upstream = upstream
        self.layers = list(info.layers)
        self.downsample = int(info.extra.get("downsample", 1))
        self.window_samples = int(window_seconds * SAMPLE_RATE) if window_seconds else None
        self.batch_seconds = batch_seconds
        self.max_batch_size = max_batch_size
        self.batch_size = batch_size
        self.reader = InputReader(SAMPLE_RATE)

    @classmethod
    def detect(cls, exp_dir: Path) -> bool:
        return (exp_dir / "model.pt").is_file() and (exp_dir / "labels").is_file()

    @classmethod
    def load(
        cls,
        model_dir: Path,
        device: str = "cpu",
        upstream_path: str | None = None,
        **options,
    ) -> SERRecognizer:
        """``options``: ``window_seconds``, ``batch_seconds``, ``max_batch_size``,
        ``batch_size`` (see :class:`SERRecognizer`)."""
        model_dir = Path(model_dir)
        model, labels, config = load_model(model_dir, device)
        info_path = training_feats_info(model_dir)
        info = FeatsInfo.load(info_path.parent)
        try:
            check_dump_matches(config, info, info_path.parent, model_dir)
        except ValueError as e:
            raise RecognizerError(str(e)) from None
        upstream = build_upstream(info, device, upstream_path, where=str(model_dir))
        logging.info(
            "%s: %s classifier over %s (layers %s, pooling %s), %d classes",
            model_dir,
            cls.kind,
            info.upstream,
            info.layers,
            info.pooling,
            len(labels),
        )
        return cls(model, labels, info, upstream, **options)

    @classmethod
    def pack_files(cls, exp_dir: Path) -> tuple[dict[str, Path], dict[str, Any]]:
        info_path = training_feats_info(exp_dir)
        info = FeatsInfo.load(info_path.parent)
        files = {
            "model.pt": exp_dir / "model.pt",
            "labels": exp_dir / "labels",
            "feats_info.json": info_path,
        }
        if (exp_dir / "config.yaml").is_file():
            files["config.yaml"] = exp_dir / "config.yaml"
        upstream = info.extra.get("upstream", {})
        meta = {
            "labels": (exp_dir / "labels").read_text().split(),
            "upstream": {
                "name": info.upstream,
                "options": info.extra.get("upstream_options") or {},
                "layers": info.layers,
                "pooling": info.pooling,
                "downsample": info.extra.get("downsample", 1),
                "dtype": info.dtype,
                "weights": next((upstream[k] for k in PATH_KEYS if upstream.get(k)), None),
            },
        }
        return files, meta

    def _windows(self, wave: np.ndarray) -> list[np.ndarray]:
        if self.window_samples is None or wave.size <= self.window_samples:
            return [wave]
        return split_windows(wave, self.window_samples)

    @torch.no_grad()
    def recognize_batch(
        self, inputs: Sequence[Input], sample_rate: int | None = None
    ) -> list[Recognition]:
        names, durations, owner, windows = [], [], [], []
        for i, audio in enumerate(inputs):
            name = f"<array {i}>" if isinstance(audio, np.ndarray) else str(audio)
            wave = self.reader.read(audio, sample_rate, name)
            try:
                check_waveform(wave, name, self.upstream.min_samples)
            except ValueError as e:
                raise AudioError(str(e)) from None
            names.append(name)
            durations.append(wave.size / SAMPLE_RATE)
            for window in self._windows(wave):
                owner.append(i)
                windows.append(window)
        feats = {}
        shape = (self.info.num_layers, self.info.dim)
        for batch in length_sorted_batches(
            [self.upstream.cost(w.size) for w in windows],
            self.batch_seconds * SAMPLE_RATE,
            self.max_batch_size,
        ):
            mats = encode(
                self.upstream,
                [windows[j] for j in batch],
                [names[owner[j]] for j in batch],
                self.layers,
                self.info.pooling,
                self.downsample,
                self.info.dtype,
            )
            for j, mat in zip(batch, mats):
                feats[f"{j:09d}"] = mat.astype(np.float32).reshape(mat.shape[0], *shape)
        posteriors = predict_posteriors(self.model, feats, self.batch_size)
        sums = np.zeros((len(names), len(self.labels)), dtype=np.float64)
        counts = np.zeros(len(names), dtype=np.int64)
        for j, i in enumerate(owner):
            sums[i] += posteriors[f"{j:09d}"]
            counts[i] += 1
        results = []
        for i, name in enumerate(names):
            probs = sums[i] / counts[i]
            results.append(
                Recognition(
                    source=name,
                    label=self.labels[int(np.argmax(probs))],
                    posteriors={label: float(p) for label, p in zip(self.labels, probs)},
                    duration=durations[i],
                    num_windows=int(counts[i]),
                )
            )
        return results
