import collections
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import torchaudio
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emorl.bin import prepare_data
from emorl.data.corpora import mini_emo
from emorl.data.datadir import DataDir

pytestmark = pytest.mark.slow  # the session fixture synthesises 360 utterances (~15 s)


def load(output_dir: Path, name: str) -> DataDir:
    return DataDir.load(output_dir / name, label_set=mini_emo.LABELS, check_audio=True)


@pytest.fixture(scope="module")
def sets(mini_emo_ci) -> dict[str, DataDir]:
    _, output_dir = mini_emo_ci
    return {name: load(output_dir, name) for name in mini_emo.SETS}


def fbank_mean_std(data: DataDir) -> tuple[np.ndarray, np.ndarray]:
    """Utterance-level 80-bin fbank mean and std, and the labels."""
    feats = []
    for utt in data.utts:
        wave, sr = soundfile.read(data.wav_scp[utt], dtype="float32")
        fbank = torchaudio.compliance.kaldi.fbank(
            torch.from_numpy(wave * 32768)[None], num_mel_bins=80, sample_frequency=sr
        )
        feats.append(torch.cat([fbank.mean(0), fbank.std(0)]).numpy())
    return np.stack(feats), np.array([data.utt2emo[u] for u in data.utts])


def test_sets_validate_with_all_tables(sets):
    for name, data in sets.items():
        assert data.text and data.utt2caption and data.utt2ovlabels and data.utt2dur, name
        assert set(data.utt2domain.values()) == {"source" if name.startswith("src") else "target"}
        assert (data.path / "spk2utt").is_file()
    assert sum(len(d.utts) for d in sets.values()) == 360


def test_labels_balanced_and_six_classes(sets):
    assert mini_emo.LABELS == ("angry", "fear", "happy", "neutral", "sad", "surprise")
    for name, data in sets.items():
        counts = collections.Counter(data.utt2emo.values())
        assert set(counts) == set(mini_emo.LABELS), name
        assert len(set(counts.values())) == 1, f"{name}: unbalanced {counts}"


def test_speakers_disjoint_across_sets_and_domains(sets):
    speakers = {name: set(d.utt2spk.values()) for name, d in sets.items()}
    assert sum(len(s) for s in speakers.values()) == len(set().union(*speakers.values())) >= 10
    for domain in ("src", "tgt"):
        assert [len(speakers[f"{domain}_{part}"]) for part in ("train", "dev", "test")] == [6, 2, 2]
    genders = collections.Counter(s.gender for s in mini_emo.SPEAKERS if s.split.endswith("test"))
    assert genders == {"male": 2, "female": 2}  # each test set has a man and a woman


def test_audio_is_16k_pcm16_and_utt2dur_matches(sets):
    durations = []
    for data in sets.values():
        for utt in data.utts[::7]:
            info = soundfile.info(data.wav_scp[utt])
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert abs(info.duration - float(data.utt2dur[utt])) < 1e-3
        durations += [float(d) for d in data.utt2dur.values()]
    assert 1.2 < min(durations) and max(durations) < 7.0 and 2.5 < np.mean(durations) < 3.5


def test_target_domain_is_band_limited(sets):
    def high_band_share(data):
        shares = []
        for utt in data.utts[:12]:
            wave, sr = soundfile.read(data.wav_scp[utt])
            power = np.abs(np.fft.rfft(wave)) ** 2
            freqs = np.fft.rfftfreq(len(wave), 1 / sr)
            shares.append(power[freqs > 4500].sum() / power.sum())
        return np.median(shares)

    assert high_band_share(sets["src_test"]) > 20 * high_band_share(sets["tgt_test"])


def test_prosody_differs_by_emotion(sets):
    data = sets["src_train"]
    rms, dur = collections.defaultdict(list), collections.defaultdict(list)
    for utt in data.utts:
        wave, _ = soundfile.read(data.wav_scp[utt])
        emotion = data.utt2emo[utt]
        rms[emotion].append(np.sqrt(np.mean(wave**2)))
        dur[emotion].append(float(data.utt2dur[utt]))
    mean = {e: (np.mean(rms[e]), np.mean(dur[e])) for e in rms}
    assert mean["angry"][0] > 1.5 * mean["sad"][0]  # louder
    assert mean["sad"][1] > 1.2 * mean["angry"][1]  # slower, with pauses


def test_wording_neutral_emotional_and_conflicting():
    utterances = mini_emo.plan("default", seed=0)
    emotional = {s: e for e, group in mini_emo.EMOTIONAL_SENTENCES.items() for s in group}
    kinds = collections.Counter()
    for u in utterances:
        said = emotional.get(u.text, "neutral")
        kinds[
            "neutral words" if said == "neutral" else "same" if said == u.emotion else "other"
        ] += 1
    share = {k: v / len(utterances) for k, v in kinds.items()}
    assert 0.3 < share["same"] < 0.5 and 0.3 < share["neutral words"] < 0.5
    assert 0.1 < share["other"] < 0.3  # words and voice disagree
    assert all("<" not in u.text for u in utterances)


def test_captions_describe_rendering_with_varied_phrasing(sets):
    data = sets["src_train"]
    speakers = {s.spk: s for s in mini_emo.SPEAKERS}
    openings = set()
    for utt in data.utts:
        caption, emotion = data.utt2caption[utt], data.utt2emo[utt]
        person = (
            r"\b(man|male)\b"
            if speakers[data.utt2spk[utt]].gender == "male"
            else r"\b(woman|female)\b"
        )
        assert re.search(person, caption.split(".")[0].lower()), caption
        words = set(mini_emo.SYNONYMS[emotion]) | {mini_emo.NOUNS[emotion]}
        assert any(w in caption for w in words), caption
        openings.add(" ".join(caption.split()[:2]))
    assert len(openings) >= 5
    assert len(set(data.utt2caption.values())) > 0.9 * len(data.utts)


def test_ovlabels_are_synonyms_of_the_label(sets):
    used = collections.defaultdict(set)
    for data in sets.values():
        for utt in data.utts:
            words = data.ovlabels(utt)
            emotion = data.utt2emo[utt]
            assert 1 <= len(words) == len(set(words)) <= 3
            assert set(words) <= set(mini_emo.SYNONYMS[emotion]), (utt, words)
            used[emotion].update(words)
    assert all(len(words) >= 4 for words in used.values())


def test_linear_probe_on_fbank_is_informative_but_not_trivial(sets):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_x, train_y = fbank_mean_std(sets["src_train"])
        test_x, test_y = fbank_mean_std(sets["src_test"])
    finally:
        torch.set_num_threads(threads)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    accuracy = probe.fit(train_x, train_y).score(test_x, test_y)
    assert 0.55 <= accuracy <= 0.90, accuracy


def test_words_alone_carry_some_signal(sets):
    train, test = sets["src_train"], sets["src_test"]
    probe = make_pipeline(CountVectorizer(), LogisticRegression(max_iter=2000))
    probe.fit([train.text[u] for u in train.utts], [train.utt2emo[u] for u in train.utts])
    accuracy = probe.score([test.text[u] for u in test.utts], [test.utt2emo[u] for u in test.utts])
    assert 0.3 <= accuracy <= 0.8, accuracy  # above chance (1/6), far from perfect


def test_same_seed_is_byte_identical_whatever_nj(tmp_path):
    runs = []
    for nj in (2, 1):
        root = tmp_path / f"nj{nj}"
        mini_emo.prepare(root / "db", root / "data", size="tiny", seed=3, nj=nj)
        wavs = {p.relative_to(root): p.read_bytes() for p in sorted(root.glob("db/wav/*/*.wav"))}
        tables = {
            p.relative_to(root): p.read_text().replace(str((root / "db").resolve()), "DB")
            for p in sorted(root.glob("data/*/*"))
        }
        runs.append((wavs, tables))
    assert len(runs[0][0]) == 120 and len(runs[0][1]) == 6 * 9
    assert runs[0] == runs[1]


def test_other_seed_gives_another_corpus():
    a, b = mini_emo.plan("ci", seed=0), mini_emo.plan("ci", seed=1)
    assert [u.utt for u in a] == [u.utt for u in b]
    assert sum(x.text != y.text or x.rate != y.rate for x, y in zip(a, b)) > 0.8 * len(a)
    assert mini_emo.plan("ci", seed=0) == a


def test_large_size_has_the_default_speakers_and_sets_with_four_times_the_utterances():
    default, large = mini_emo.plan("default", seed=0), mini_emo.plan("large", seed=0)
    per_cell = collections.Counter((u.spk, u.split, u.emotion) for u in large)
    assert len(large) == 4 * len(default) == 5760
    assert set(per_cell.values()) == {48}
    assert {k[:2] for k in per_cell} == {(u.spk, u.split) for u in default}
    assert len({u.utt for u in large}) == len(large)


def test_completed_guard(mini_emo_ci, monkeypatch):
    corpus_dir, output_dir = mini_emo_ci
    guard = json.loads((output_dir / ".completed").read_text())
    assert guard["options"]["size"] == "ci" and guard["options"]["seed"] == 0

    def no_synthesis(*args, **kwargs):
        raise AssertionError("synthesised on a rerun")

    monkeypatch.setattr(mini_emo, "synthesize", no_synthesis)
    stamp = (output_dir / "src_train" / "utt2emo").stat().st_mtime_ns
    argv = ["--corpus", "mini_emo", "--corpus_dir", str(corpus_dir), "--output_dir"]
    prepare_data.main(argv + [str(output_dir), "--size", "ci", "--nj", "1"])  # free rerun
    assert (output_dir / "src_train" / "utt2emo").stat().st_mtime_ns == stamp

    # other options redo the corpus (here the synthesis fails: the old corpus stays intact and
    # is no longer marked completed)
    with pytest.raises(AssertionError, match="synthesised on a rerun"):
        prepare_data.main(argv + [str(output_dir), "--size", "ci", "--nj", "1", "--snr_db", "5"])
    assert not (output_dir / ".completed").exists()
    assert len(list((corpus_dir / "wav").glob("*/*.wav"))) == 360
    assert not list(corpus_dir.glob(".wav.*"))
