"""The label/feature coverage check."""

from __future__ import annotations

import logging

import pytest

from emorl.ser.coverage import CoverageError, check_coverage


def test_coverage_names_what_is_missing_and_can_keep_the_common(caplog):
    feats = ["u1", "u2", "u3", "u4"]
    labels = ["u2", "u3", "u4", "u5", "u6"]
    with pytest.raises(CoverageError) as err:
        check_coverage(feats, labels, "dump/feats.scp", "data/utt2emo")
    assert (
        "2 utterances of data/utt2emo have no features in dump/feats.scp (e.g. ['u5', 'u6'])"
        in str(err.value)
    )
    assert "1 utterances of dump/feats.scp have no label in data/utt2emo (e.g. ['u1'])" in str(
        err.value
    )
    with caplog.at_level(logging.WARNING):
        assert check_coverage(feats, labels, allow_missing=True) == ["u2", "u3", "u4"]
    assert "keeping the 3 common utterances" in caplog.text
    with pytest.raises(CoverageError, match="no utterance has both"):
        check_coverage(["a"], ["b"], allow_missing=True)
