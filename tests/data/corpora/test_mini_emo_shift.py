"""mini_emo --target_shift: each shift changes what it says and nothing else (plans, no corpus)."""

import collections
import dataclasses

import numpy as np
import pytest

from emorl.data.corpora import mini_emo
from emorl.data.corpora._common import CorpusError

FIELDS_OF_INTENSITY = {
    "intensity", "rate", "pitch", "pitch_range", "volume", "word_gap", "tremor", "strain", "tilt",
    "ssml", "pause_ms", "caption", "ovlabels",
}  # fmt: skip


@pytest.fixture(scope="module")
def plans():
    """The ci-size plan for each single shift (intensity and prior plans are cheap to make)."""
    return {
        shift: {u.utt: u for u in mini_emo.plan("ci", seed=0, target_shift=shift)}
        for shift in ("channel", "none", "intensity", "prior", "intensity,prior")
    }


def test_parse_target_shift():
    assert mini_emo.parse_target_shift("prior, channel") == ("channel", "prior")
    assert mini_emo.parse_target_shift("none") == ()
    for bad in ("", "volume", "none,prior", "channel,,loud"):
        with pytest.raises(CorpusError, match="bad --target_shift"):
            mini_emo.parse_target_shift(bad)


def test_channel_is_the_default_and_only_acts_when_rendering(plans):
    assert plans["channel"] == {u.utt: u for u in mini_emo.plan("ci", seed=0)}
    assert plans["none"] == plans["channel"]  # the channel is applied by render, not planned


def class_spread(utterances, name):
    """Standard deviation over classes of the per-class mean of parameter ``name``."""
    by_class = collections.defaultdict(list)
    for u in utterances:
        by_class[u.emotion].append(getattr(u, name))
    return float(np.std([np.mean(v) for v in by_class.values()]))


def test_intensity_weakens_target_prosody_only(plans):
    base, weak = plans["channel"], plans["intensity"]
    assert base.keys() == weak.keys()
    for utt, u in base.items():
        w = weak[utt]
        if u.domain == "source":
            assert w == u
            continue
        # the same utterance (words, voice, seeds), only its expression weaker
        changed = {
            f.name for f in dataclasses.fields(u) if getattr(u, f.name) != getattr(w, f.name)
        }
        assert changed <= FIELDS_OF_INTENSITY, changed
        assert w.intensity == pytest.approx(mini_emo.TARGET_INTENSITY_SCALE * u.intensity, abs=1e-3)
    for domain in ("source", "target"):
        b = [u for u in base.values() if u.domain == domain]
        s = [u for u in weak.values() if u.domain == domain]
        for name in ("rate", "pitch_range", "volume", "tilt"):
            before, after = class_spread(b, name), class_spread(s, name)
            if domain == "source":
                assert after == before
            else:  # the class means move halfway to neutral's
                assert after < 0.7 * before, (name, before, after)


def test_prior_keeps_a_subset_of_target_utterances_rendered_unchanged(plans):
    base, prior = plans["channel"], plans["prior"]
    assert set(prior) < set(base)
    assert all(prior[utt] == base[utt] for utt in prior)
    assert {u for u in base if base[u].domain == "source"} <= set(prior)
    for split in ("tgt_train", "tgt_dev", "tgt_test"):
        counts = collections.Counter(u.emotion for u in prior.values() if u.split == split)
        n = sum(1 for u in base.values() if u.split == split and u.emotion == "neutral")
        expected = {e: max(1, round(n * p / 0.35)) for e, p in mini_emo.TARGET_PRIOR.items()}
        assert counts == expected, split
        # every speaker keeps utterances of the most frequent class
        speakers = {u.spk for u in base.values() if u.split == split}
        assert {u.spk for u in prior.values() if u.split == split and u.emotion == "neutral"} == (
            speakers
        )
    tgt_train = collections.Counter(u.emotion for u in prior.values() if u.split == "tgt_train")
    total = sum(tgt_train.values())  # ci: 18 per class -> 18, 10, 8, 8, 5, 3 of 52
    assert tgt_train["neutral"] / total > 0.33 and tgt_train["fear"] / total < 0.06


def test_shifts_combine(plans):
    both, weak, prior = plans["intensity,prior"], plans["intensity"], plans["prior"]
    assert set(both) == set(prior)
    assert all(both[utt] == weak[utt] for utt in both)


@pytest.mark.parametrize("channel", [True, False])
def test_channel_off_renders_the_target_like_the_source(plans, channel):
    u = next(u for u in plans["channel"].values() if u.split == "tgt_test")
    as_source = mini_emo.render(dataclasses.replace(u, domain="source"), 15.0, True)
    wave = mini_emo.render(u, 15.0, True, channel=channel)
    assert np.array_equal(wave, as_source) != channel


@pytest.mark.slow
def test_prepare_with_a_shift_writes_its_own_wavs_and_guard(tmp_path):
    """tiny size, prior: the target sets follow the prior, wavs go to wav_prior/, the guard names
    the shift (so that the default corpus is never taken for it), a bad shift is named."""
    from emorl.bin import prepare_data

    args = ["--corpus", "mini_emo", "--corpus_dir", str(tmp_path / "db"), "--size", "tiny"]
    with pytest.raises(SystemExit, match="bad --target_shift 'loud'"):
        prepare_data.main([*args, "--output_dir", str(tmp_path / "x"), "--target_shift", "loud"])
    sets = mini_emo.prepare(tmp_path / "db", tmp_path / "data", size="tiny", nj=1,
                            target_shift="prior")  # fmt: skip
    counts = collections.Counter(sets["tgt_train"].utt2emo.values())
    assert counts == {"neutral": 6, "happy": 3, "angry": 3, "sad": 3, "surprise": 2, "fear": 1}
    assert len(sets["src_train"].utts) == 36
    assert all("/db/wav_prior/" in p for p in sets["tgt_test"].wav_scp.values())
    assert (tmp_path / "db" / "metadata_prior.tsv").is_file()
    assert '"target_shift": "prior"' in (tmp_path / "data" / ".completed").read_text()
