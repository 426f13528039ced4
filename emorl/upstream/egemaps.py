"""openSMILE eGeMAPSv02 (Eyben et al. 2016), the classic hand-crafted SER baseline.

``functionals``: 88 statistics per utterance (one vector, ``frame_rate`` None);
``lld``: the 25 low-level descriptors every 10 ms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import opensmile

from emorl.upstream.base import Upstream, UpstreamError

LEVELS = {
    "functionals": opensmile.FeatureLevel.Functionals,
    "lld": opensmile.FeatureLevel.LowLevelDescriptors,
}


class EgemapsUpstream(Upstream):
    """``egemaps``: eGeMAPSv02 functionals or low-level descriptors, one layer."""

    num_layers = 1

    def __init__(self, name: str = "egemaps", path=None, level: str = "functionals"):
        if path is not None:
            raise UpstreamError("egemaps takes no --upstream_path")
        if level not in LEVELS:
            raise UpstreamError(f"egemaps: level {level!r}, expected one of {sorted(LEVELS)}")
        self.name = name
        self.level = level
        self.smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=LEVELS[level]
        )
        self.dim = len(self.smile.feature_names)
        self.frame_rate = None if level == "functionals" else 100.0

    def extract(self, waves: Sequence[np.ndarray], layers: Sequence[int]) -> list[np.ndarray]:
        return [
            self.smile.process_signal(wave, 16000).to_numpy(np.float32)[:, None, :]
            for wave in waves
        ]

    def describe(self) -> dict:
        return {"level": self.level, "feature_names": list(self.smile.feature_names)}
