"""Automatic SFT targets: acoustic words by training-set tertiles, content, summary, answer."""

from __future__ import annotations

import json

import kaldiio
import numpy as np
import pytest
import soundfile

from emorl.bin.make_sft_targets import main
from emorl.data.datadir import DataDir, DataDirError
from emorl.data.feats import FeatsInfo
from emorl.lalm.prompts import parse_completion
from emorl.lalm.targets import (
    DESCRIPTORS,
    AcousticThresholds,
    TargetError,
    build_targets,
    compute_descriptors,
    content_of,
    normalise_by_speaker,
    read_targets,
    write_targets,
)

SR = 16000


def descriptors(pitch, rng=0.0, rate=3.0, loud=1.0, jitter=0.01, shimmer=1.0, hnr=10.0):
    return dict(
        pitch_level=pitch,
        pitch_range=rng,
        rate=rate,
        loudness=loud,
        jitter=jitter,
        shimmer=shimmer,
        hnr=hnr,
        voiced=float(pitch > 0 and rate > 0),
    )


TRAIN = {
    f"u{i}": descriptors(
        pitch=20.0 + i, rng=float(i), rate=float(i), loud=float(i), jitter=0.01 * i, hnr=10.0 - i
    )
    for i in range(1, 7)
}
TRAIN["unvoiced"] = descriptors(pitch=0.0, rate=0.0, loud=100.0, jitter=0, shimmer=0, hnr=0)


def test_thresholds_are_training_tertiles():
    th = AcousticThresholds.estimate(TRAIN)
    assert (th.num_utts, th.num_voiced) == (7, 6)
    # pitch over the 6 voiced utterances 21..26: tertiles at 21 + 5/3 and 21 + 10/3
    assert th.thresholds["pitch_level"] == pytest.approx([22.6667, 24.3333], abs=1e-4)
    # loudness over all 7 utterances (1..6 and 100)
    assert th.thresholds["loudness"] == pytest.approx(
        np.quantile([1, 2, 3, 4, 5, 6, 100], [1 / 3, 2 / 3])
    )
    assert [th.level("pitch_level", p) for p in (21, 23, 24.5, 30)] == [0, 1, 2, 2]
    assert th.roughness_stats["jitter"] == pytest.approx(
        [0.035, np.std([0.01 * i for i in range(1, 7)])]
    )


def test_acoustics_in_words():
    th = AcousticThresholds.estimate(TRAIN)
    assert th.describe(TRAIN["u1"]) == (
        "Low pitch with a narrow range, slow speaking rate, soft voice, clear voice quality."
    )
    # loudness tertiles over 1..6 and 100 are 3 and 5
    assert th.describe(TRAIN["u4"]) == (
        "Medium pitch with a moderate range, moderate speaking rate, moderately loud voice, "
        "slightly rough voice quality."
    )
    assert th.describe(TRAIN["u6"]) == (
        "High pitch with a wide range, fast speaking rate, loud voice, rough voice quality."
    )
    assert th.describe(TRAIN["unvoiced"]) == "No voiced speech detected; loud sound."


def test_normalise_by_speaker():
    desc = {
        "a1": descriptors(pitch=30.0, loud=1.0),
        "a2": descriptors(pitch=34.0, loud=3.0),
        "a3": descriptors(pitch=0.0, rate=0.0, loud=5.0),  # unvoiced: kept out of pitch stats
        "b1": descriptors(pitch=20.0, loud=2.0),
    }
    out = normalise_by_speaker(desc, {"a1": "A", "a2": "A", "a3": "A", "b1": "B"})
    assert (out["a1"]["pitch_level"], out["a2"]["pitch_level"]) == (-1.0, 1.0)
    assert out["a3"]["pitch_level"] == 0.0 and out["a3"]["voiced"] == 0.0
    loud = np.array([1.0, 3.0, 5.0])
    assert out["a3"]["loudness"] == pytest.approx((5 - loud.mean()) / loud.std())
    assert out["b1"]["pitch_level"] == 0.0  # one utterance: std 0
    assert desc["a1"]["pitch_level"] == 30.0  # the input is left alone


def test_too_few_voiced_utterances():
    with pytest.raises(TargetError, match="only 1 of 2 utterances have voiced frames"):
        AcousticThresholds.estimate({"a": TRAIN["u1"], "b": TRAIN["unvoiced"]})


def test_thresholds_file_round_trip_and_errors(tmp_path):
    th = AcousticThresholds.estimate(TRAIN)
    th.save(tmp_path / "th.json")
    assert AcousticThresholds.load(tmp_path / "th.json") == th
    with pytest.raises(TargetError, match="no thresholds file; estimate it on the training set"):
        AcousticThresholds.load(tmp_path / "missing.json")
    values = json.loads((tmp_path / "th.json").read_text())
    with pytest.raises(TargetError, match="estimated with normalise 'none', not 'speaker'"):
        AcousticThresholds.load(tmp_path / "th.json", normalise="speaker")
    values["descriptors"]["rate"] = "VoicedSegmentsPerSec"
    (tmp_path / "other.json").write_text(json.dumps(values))
    with pytest.raises(TargetError, match="made from other descriptors"):
        AcousticThresholds.load(tmp_path / "other.json")


def test_content():
    assert content_of(None) == ""
    assert content_of("  ") == ""
    assert content_of("The keys are on the table.") == '"The keys are on the table."'
    assert content_of("I am so glad, so GLAD and terrified!") == (
        '"I am so glad, so GLAD and terrified!" Emotional words: glad, terrified.'
    )


def _data(text=True) -> DataDir:
    utts = ["s1-a", "s1-b"]
    return DataDir(
        wav_scp={u: f"/nowhere/{u}.wav" for u in utts},
        utt2spk={u: "s1" for u in utts},
        text={"s1-a": "I am so glad you came!"} if text else None,
        utt2emo={"s1-a": "happy", "s1-b": "sad"},
        utt2caption={"s1-a": "A bright, cheerful voice.", "s1-b": "She sighs, sounding low."},
        utt2ovlabels={"s1-a": "joyful,relieved", "s1-b": "sad"},
    )


def test_build_targets_in_each_task_and_format():
    th = AcousticThresholds.estimate(TRAIN)
    desc = {"s1-a": TRAIN["u6"], "s1-b": TRAIN["unvoiced"]}
    data = _data()
    esr = build_targets(data, "emo", "esr", desc, th)
    assert esr["s1-a"] == (
        '<think><content>"I am so glad you came!" Emotional words: glad.</content>'
        "<acoustics>High pitch with a wide range, fast speaking rate, loud voice, rough voice "
        "quality.</acoustics><summary>The emotion is happy.</summary></think>"
        "<answer>happy</answer>"
    )
    # s1-b has no transcript in the text table: empty content, target still built
    parsed = parse_completion(esr["s1-b"], "esr")
    assert parsed.format_valid and parsed.answer == "sad" and parsed.sections["content"] == ""
    assert build_targets(data, "emo", "answer") == {
        "s1-a": "<answer>happy</answer>",
        "s1-b": "<answer>sad</answer>",
    }
    think = build_targets(data, "cap", "think", desc, th)["s1-b"]
    assert think == (
        "<think>No voiced speech detected; loud sound. The emotion is sad.</think>"
        "<answer>She sighs, sounding low.</answer>"
    )
    ov = build_targets(data, "ov", "esr", desc, th)["s1-a"]
    assert ov.endswith(
        "<summary>The emotions are joyful, relieved.</summary></think>"
        "<answer>joyful, relieved</answer>"
    )


def test_build_targets_errors():
    data = _data()
    data.utt2caption = None
    with pytest.raises(DataDirError, match="task cap needs utt2caption"):
        build_targets(data, "cap", "answer")
    with pytest.raises(TargetError, match="format esr needs acoustic descriptors"):
        build_targets(data, "emo", "esr")
    th = AcousticThresholds.estimate(TRAIN)
    with pytest.raises(TargetError, match="no acoustic descriptors for utterance s1-b"):
        build_targets(data, "emo", "think", {"s1-a": TRAIN["u1"]}, th)


def test_targets_file_escapes_newlines(tmp_path):
    targets = {"b": "line one\nline two", "a": "back\\slash \\n literal"}
    write_targets(tmp_path / "targets", targets)
    lines = (tmp_path / "targets").read_text().splitlines()
    assert lines == ["a back\\\\slash \\\\n literal", "b line one\\nline two"]
    assert read_targets(tmp_path / "targets") == targets
    (tmp_path / "bad").write_text("a <answer>x</answer>\nb\n")
    with pytest.raises(TargetError, match="bad:2: expected '<utt> <target>'"):
        read_targets(tmp_path / "bad")


def _tone(f0, amp, am_hz, seconds=1.5, seed=0):
    t = np.arange(int(seconds * SR)) / SR
    wave = amp * (np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(4 * np.pi * f0 * t))
    wave *= 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * am_hz * t))  # am_hz voiced bursts a second
    noise = 0.001 * np.random.default_rng(seed).standard_normal(t.size)
    return (wave + noise).astype(np.float32)


def _write_data_dir(path, waves, text=None):
    wav_dir = path / "wav"
    wav_dir.mkdir(parents=True)
    wav_scp = {}
    for utt, wave in waves.items():
        soundfile.write(wav_dir / f"{utt}.wav", wave, SR, subtype="PCM_16")
        wav_scp[utt] = str(wav_dir / f"{utt}.wav")
    labels = ["happy", "sad", "angry", "neutral", "fear", "surprise", "sad"]
    utt2emo = {utt: labels[i % len(labels)] for i, utt in enumerate(sorted(waves))}
    DataDir(
        wav_scp=wav_scp,
        utt2spk={utt: utt.split("-")[0] for utt in waves},
        text=text,
        utt2emo=utt2emo,
    ).write(path / "data")
    return path / "data"


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    """Six harmonic tones, pitch and loudness rising together, and one noise burst (unvoiced)."""
    root = tmp_path_factory.mktemp("train")
    waves = {f"s1-u{i}": _tone(100 + 40 * i, 0.05 * (i + 1), am_hz=1 + i, seed=i) for i in range(6)}
    waves["s2-noise"] = (0.2 * np.random.default_rng(9).standard_normal(SR)).astype(np.float32)
    text = {utt: "The keys are on the table." for utt in waves}
    text["s1-u5"] = "I am terrified!"
    return _write_data_dir(root, waves, text)


def test_descriptors_from_audio(train_dir):
    desc = compute_descriptors(DataDir.load(train_dir), batch_size=3, progress=False)
    # 100 Hz is 12 log2(100 / 27.5) = 22.35 semitones above 27.5 Hz; 300 Hz: 41.4
    assert desc["s1-u0"]["pitch_level"] == pytest.approx(22.35, abs=0.3)
    assert desc["s1-u5"]["pitch_level"] == pytest.approx(41.4, abs=0.3)
    assert desc["s2-noise"]["voiced"] == 0.0 and desc["s2-noise"]["pitch_level"] == 0.0
    assert all(desc[f"s1-u{i}"]["voiced"] == 1.0 for i in range(6))
    # loudness peaks per second follow the bursts per second (1 + i)
    rates = [desc[f"s1-u{i}"]["rate"] for i in range(6)]
    assert rates == sorted(rates) and rates[0] < rates[-1]


def test_make_sft_targets_end_to_end(train_dir, tmp_path):
    th_path = tmp_path / "th.json"
    main(
        [
            f"--data_dir={train_dir}",
            "--task=emo",
            "--format=esr",
            f"--thresholds={th_path}",
            "--estimate_thresholds=true",
            f"--output={tmp_path / 'train' / 'targets'}",
            "--batch_size=4",
        ]
    )
    thresholds = json.loads(th_path.read_text())
    assert (thresholds["num_utts"], thresholds["num_voiced"]) == (7, 6)
    targets = read_targets(tmp_path / "train" / "targets")
    assert sorted(targets) == sorted(DataDir.load(train_dir).utts)
    parsed = {utt: parse_completion(t, "esr") for utt, t in targets.items()}
    assert all(p.format_valid for p in parsed.values())
    assert parsed["s1-u0"].sections["acoustics"].startswith("Low pitch")
    assert parsed["s1-u5"].sections["acoustics"].startswith("High pitch")
    assert parsed["s1-u5"].sections["content"] == '"I am terrified!" Emotional words: terrified.'
    assert parsed["s2-noise"].sections["acoustics"].startswith("No voiced speech detected")
    assert parsed["s1-u0"].answer == DataDir.load(train_dir).utt2emo["s1-u0"]


def test_other_set_reuses_the_thresholds_without_text(train_dir, tmp_path):
    """A set without a text file: empty content; the training thresholds put it into words."""
    th_path = tmp_path / "th.json"
    options = ["--task=emo", f"--thresholds={th_path}"]
    main(
        options
        + [
            f"--data_dir={train_dir}",
            "--format=think",
            "--estimate_thresholds=true",
            f"--output={tmp_path / 'train_targets'}",
        ]
    )
    waves = {"s3-a": _tone(330, 0.4, am_hz=7), "s3-b": _tone(95, 0.03, am_hz=1)}
    dev_dir = _write_data_dir(tmp_path / "dev", waves, text=None)
    main(
        options + [f"--data_dir={dev_dir}", "--format=esr", f"--output={tmp_path / 'dev_targets'}"]
    )
    assert json.loads(th_path.read_text())["num_utts"] == 7  # not re-estimated on dev
    targets = read_targets(tmp_path / "dev_targets")
    a, b = (parse_completion(targets[u], "esr") for u in ("s3-a", "s3-b"))
    assert a.format_valid and a.sections["content"] == "" and b.sections["content"] == ""
    # per speaker: a is the higher, faster and louder of s3's two utterances
    assert a.sections["acoustics"].startswith("High pitch with a")
    assert "fast speaking rate, loud voice" in a.sections["acoustics"]
    assert b.sections["acoustics"].startswith("Low pitch with a")
    assert "slow speaking rate, soft voice" in b.sections["acoustics"]


def test_targets_from_an_egemaps_dump_equal_those_from_audio(train_dir, tmp_path):
    from emorl.upstream.egemaps import EgemapsUpstream

    upstream = EgemapsUpstream()
    data = DataDir.load(train_dir)
    dump = tmp_path / "dump"
    dump.mkdir()
    with kaldiio.WriteHelper(f"ark,scp:{dump}/feats.ark,{dump}/feats.scp") as writer:
        for utt in data.utts:
            wave, _ = soundfile.read(data.wav_scp[utt], dtype="float32")
            writer(utt, upstream.extract([wave], [0])[0][:, 0, :])
    FeatsInfo(
        upstream="egemaps",
        layers=[0],
        dim=88,
        frame_rate=None,
        extra={"upstream": upstream.describe()},
    ).save(dump)
    common = [f"--data_dir={train_dir}", "--task=emo", "--format=esr", "--estimate_thresholds=true"]
    main(common + [f"--thresholds={tmp_path / 'a.json'}", f"--output={tmp_path / 'a'}"])
    main(
        common
        + [f"--thresholds={tmp_path / 'b.json'}", f"--output={tmp_path / 'b'}"]
        + [f"--egemaps_dump={dump}"]
    )
    assert read_targets(tmp_path / "a") == read_targets(tmp_path / "b")
    FeatsInfo(upstream="fbank", layers=[0], dim=88, frame_rate=None).save(dump)
    with pytest.raises(TargetError, match="not a dump of the egemaps functionals"):
        main(
            common
            + [f"--thresholds={tmp_path / 'c.json'}", f"--output={tmp_path / 'c'}"]
            + [f"--egemaps_dump={dump}"]
        )


def test_silent_audio_stops_naming_the_utterance(tmp_path):
    waves = {"s1-a": _tone(200, 0.3, am_hz=3), "s1-silent": np.zeros(SR, dtype=np.float32)}
    data_dir = _write_data_dir(tmp_path, waves)
    with pytest.raises(ValueError, match="s1-silent: silent waveform"):
        compute_descriptors(DataDir.load(data_dir), progress=False)


def test_descriptor_names_are_egemaps_functionals():
    from emorl.upstream.egemaps import EgemapsUpstream

    names = set(EgemapsUpstream().describe()["feature_names"])
    assert set(DESCRIPTORS.values()) <= names
