"""egemaps: openSMILE eGeMAPSv02 functionals (per utterance) or low-level descriptors (100/s)."""

from __future__ import annotations

import numpy as np
import pytest

from emorl.upstream import UpstreamError, get_upstream


def test_functionals_are_88_per_utterance(waves):
    upstream = get_upstream("egemaps")
    assert (upstream.num_layers, upstream.dim, upstream.frame_rate) == (1, 88, None)
    feats = upstream.extract(waves[:2], [0])
    assert [f.shape for f in feats] == [(1, 1, 88), (1, 1, 88)]
    assert np.isfinite(feats[0]).all() and not np.allclose(feats[0], feats[1])
    names = upstream.describe()["feature_names"]
    assert names[0] == "F0semitoneFrom27.5Hz_sma3nz_amean"
    # waves[0] glides around 195.5 Hz: 33.96 semitones above 27.5 Hz
    assert feats[0][0, 0, 0] == pytest.approx(33.96, abs=0.5)


def test_lld_are_25_every_10ms(waves):
    upstream = get_upstream("egemaps", egemaps_level="lld")
    assert (upstream.dim, upstream.frame_rate) == (25, 100.0)
    feats = upstream.extract(waves[:1], [0])[0]
    assert abs(feats.shape[0] - waves[0].size / 160) <= 5


def test_unknown_level():
    with pytest.raises(UpstreamError, match="level 'frames'"):
        get_upstream("egemaps", egemaps_level="frames")
