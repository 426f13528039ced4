"""The feature dump: the contract between stage 2 (upstream) and the stages that train on features.

``dump/<upstream>/<set>/`` holds ``feats.scp`` (kaldiio; keys are utterance ids, sorted), its ark
files, and ``feats_info.json``. Each utterance is a matrix of shape ``[T, L * D]``: ``T`` frames
(``T == 1`` when pooled), ``L`` layers of ``D`` dims each, concatenated layer after layer, so that
Kaldi's 2-D matrices can carry several layers. :func:`read_feats` gives them back as ``[T, L, D]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import kaldiio
import numpy as np

from emorl.atomic import atomic_write
from emorl.fingerprint import dump_fingerprint, json_sha256


@dataclass
class FeatsInfo:
    """What a dump holds; written as ``feats_info.json`` next to ``feats.scp``."""

    upstream: str
    layers: list[int]  # which layers of the upstream, in storage order
    dim: int  # D, per layer (already doubled when pooled as mean+std)
    frame_rate: float | None  # frames per second; None when pooled
    pooling: str = "none"  # "none" or "mean_std"
    dtype: str = "float32"
    extra: dict = field(default_factory=dict)  # upstream options, code version, ...
    # sha256 of what made the dump (the fields above, the upstream's weights, the data dir's
    # audio list): what a stage reading the dump depends on (emorl.fingerprint)
    fingerprint: str = ""

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def save(self, dump_dir: str | os.PathLike) -> None:
        with atomic_write(Path(dump_dir) / "feats_info.json") as f:
            json.dump({**asdict(self), "num_layers": self.num_layers}, f, indent=2, sort_keys=True)

    @classmethod
    def load(cls, dump_dir: str | os.PathLike) -> FeatsInfo:
        path = Path(dump_dir) / "feats_info.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; run stage 2 (feature extraction) first")
        values = json.loads(path.read_text())
        values.pop("num_layers", None)
        return cls(**values)


def read_feats(dump_dir: str | os.PathLike) -> tuple[FeatsInfo, dict[str, np.ndarray]]:
    """Load a dump into memory as ``utt -> float32 [T, L, D]``; shapes are checked per utterance."""
    info = FeatsInfo.load(dump_dir)
    scp = Path(dump_dir) / "feats.scp"
    feats = {}
    width = info.num_layers * info.dim
    for utt, mat in kaldiio.load_scp_sequential(str(scp)):
        mat = np.asarray(mat, dtype=np.float32)
        if mat.ndim != 2 or mat.shape[1] != width:
            raise ValueError(
                f"{scp}: {utt} has shape {mat.shape}, expected [T, {width}] per feats_info.json"
            )
        if not np.isfinite(mat).all():
            raise ValueError(f"{scp}: {utt} contains NaN or Inf")
        feats[utt] = mat.reshape(mat.shape[0], info.num_layers, info.dim)
    return info, feats


def subset_dump(
    dump_dir: str | os.PathLike, utts: Sequence[str], out_dir: str | os.PathLike
) -> None:
    """Write into ``out_dir`` a dump of ``utts`` only: their ``feats.scp`` lines (pointing at the
    same ark files) and ``feats_info.json``, whose fingerprint covers the parent's and ``utts``.
    An utterance missing from the parent stops, naming it."""
    dump_dir, out_dir = Path(dump_dir), Path(out_dir)
    info = FeatsInfo.load(dump_dir)
    scp = dump_dir / "feats.scp"
    lines = {}
    for lineno, line in enumerate(scp.read_text().splitlines(), 1):
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise ValueError(f"{scp}:{lineno}: expected '<utt> <ark path>:<offset>', got {line!r}")
        lines[parts[0]] = line
    missing = sorted(set(utts) - set(lines))
    if missing:
        raise ValueError(f"{scp}: no features for {len(missing)} utterances (e.g. {missing[:3]})")
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_dir / "feats.scp") as f:
        f.writelines(lines[utt] + "\n" for utt in sorted(utts))
    info.fingerprint = json_sha256([dump_fingerprint(dump_dir), sorted(utts)])
    info.save(out_dir)
