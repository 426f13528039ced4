"""The data-dir contract: reading, writing, validation and its error messages."""

import os

import numpy as np
import pytest
import soundfile

from emorl.data.datadir import DataDir, DataDirError, read_table, spk2utt_of, write_table


def make_dir(tmp_path, n=4, labels=None, with_text=True):
    """A valid data dir with ``n`` real wav files; returns the DataDir (not yet written)."""
    wav_dir = tmp_path / "wav"
    wav_dir.mkdir(exist_ok=True)
    wav_scp, utt2spk, utt2emo, text = {}, {}, {}, {}
    labels = labels or ["happy", "sad"]
    for i in range(n):
        utt = f"spk{i % 2}-utt{i}"
        path = wav_dir / f"{utt}.wav"
        soundfile.write(path, np.zeros(1600, dtype=np.float32) + 0.1, 16000)
        wav_scp[utt] = str(path)
        utt2spk[utt] = f"spk{i % 2}"
        utt2emo[utt] = labels[i % len(labels)]
        text[utt] = f"sentence number {i}"
    return DataDir(
        wav_scp=wav_scp, utt2spk=utt2spk, utt2emo=utt2emo, text=text if with_text else None
    )


def test_write_then_load_round_trip(tmp_path):
    data = make_dir(tmp_path)
    data.write(tmp_path / "d", label_set=["happy", "sad"])
    loaded = DataDir.load(tmp_path / "d", label_set=["happy", "sad"], check_audio=True)
    assert loaded == data
    assert (
        tmp_path / "d" / "spk2utt"
    ).read_text() == "spk0 spk0-utt0 spk0-utt2\nspk1 spk1-utt1 spk1-utt3\n"
    lines = (tmp_path / "d" / "utt2spk").read_text().splitlines()
    assert lines == sorted(lines)


def test_write_is_atomic_and_leaves_nothing_on_error(tmp_path):
    data = make_dir(tmp_path)
    data.utt2emo["spk0-utt0"] = "angry"
    with pytest.raises(DataDirError, match="utt2emo:1: utterance spk0-utt0 has label 'angry'"):
        data.write(tmp_path / "d", label_set=["happy", "sad"])
    assert not (tmp_path / "d").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["wav"]


def test_rewrite_replaces_old_dir_whole(tmp_path):
    make_dir(tmp_path, n=4).write(tmp_path / "d")
    make_dir(tmp_path, n=2, with_text=False).write(tmp_path / "d")
    assert not (tmp_path / "d" / "text").exists()
    assert len(DataDir.load(tmp_path / "d").utts) == 2


@pytest.mark.parametrize(
    "content, message",
    [
        ("a x\na y\n", r"t:2: duplicate key 'a'"),
        ("b x\na y\n", r"t:2: key 'a' is not sorted \(follows 'b'\)"),
        ("a x\nb\n", r"t:2: expected '<key> <value>', got 'b'"),
        ("a x\n\nb y\n", r"t:2: empty line"),
    ],
)
def test_read_table_errors_name_file_and_line(tmp_path, content, message):
    (tmp_path / "t").write_text(content)
    with pytest.raises(DataDirError, match=message):
        read_table(tmp_path / "t")


def test_read_table_keeps_values_with_spaces(tmp_path):
    (tmp_path / "t").write_text("u1 a b  c\nu2 x\n")
    assert read_table(tmp_path / "t") == {"u1": "a b  c", "u2": "x"}


def test_write_table_rejects_bad_keys_and_values(tmp_path):
    with pytest.raises(DataDirError, match="contains whitespace"):
        write_table(tmp_path / "t", {"a b": "x"})
    with pytest.raises(DataDirError, match="empty or spans lines"):
        write_table(tmp_path / "t", {"a": "x\ny"})
    assert not (tmp_path / "t").exists()


def test_missing_wav_file_names_line_and_utterance(tmp_path):
    data = make_dir(tmp_path)
    os.unlink(data.wav_scp["spk1-utt1"])
    with pytest.raises(DataDirError, match=r"wav.scp:3: spk1-utt1: audio file .* does not exist"):
        data.write(tmp_path / "d")


def test_wav_scp_line_without_path(tmp_path):
    data = make_dir(tmp_path)
    data.write(tmp_path / "d")
    scp = tmp_path / "d" / "wav.scp"
    lines = scp.read_text().splitlines()
    lines[2] = lines[2].split()[0]
    scp.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataDirError, match=r"wav.scp:3: expected '<key> <value>', got 'spk1-utt1'"):
        DataDir.load(tmp_path / "d")


def test_not_audio_is_caught_with_check_audio(tmp_path):
    data = make_dir(tmp_path)
    with open(data.wav_scp["spk0-utt2"], "w") as f:
        f.write("this is not a wav file")
    data.write(tmp_path / "d")  # existence only: passes
    with pytest.raises(DataDirError, match=r"wav.scp:2: spk0-utt2: .* is not readable audio"):
        DataDir.load(tmp_path / "d", check_audio=True)


def test_tables_must_cover_the_same_utterances(tmp_path):
    data = make_dir(tmp_path)
    del data.text["spk0-utt0"]
    with pytest.raises(DataDirError, match=r"text: .* 1 missing \(e.g. \['spk0-utt0'\]\)"):
        data.write(tmp_path / "d")


def test_segments_refer_to_recordings(tmp_path):
    data = make_dir(tmp_path, n=2)
    rec = "spk0-utt0"
    data.segments = {"spk0-utt0": f"{rec} 0.0 0.05", "spk1-utt1": "nope 0.0 0.05"}
    with pytest.raises(DataDirError, match=r"segments:2: recording 'nope' not in wav.scp"):
        data.write(tmp_path / "d")
    data.segments["spk1-utt1"] = f"{rec} 0.0 x"
    with pytest.raises(DataDirError, match=r"segments:2: bad times 0.0 x for spk1-utt1"):
        data.write(tmp_path / "d")
    data.segments["spk1-utt1"] = f"{rec} 0.06 0.05"
    with pytest.raises(DataDirError, match=r"segments:2: bad times 0.06 0.05"):
        data.write(tmp_path / "d")


def test_empty_data_dir(tmp_path):
    with pytest.raises(DataDirError, match="empty data directory"):
        DataDir(wav_scp={}, utt2spk={}).write(tmp_path / "d")


def test_subset_and_ovlabels(tmp_path):
    data = make_dir(tmp_path)
    data.utt2ovlabels = {u: "happy, cheerful ,glad" for u in data.utts}
    sub = data.subset(["spk0-utt0", "spk0-utt2"])
    assert sub.utts == ["spk0-utt0", "spk0-utt2"]
    assert set(sub.wav_scp) == {"spk0-utt0", "spk0-utt2"}
    assert sub.ovlabels("spk0-utt0") == ["happy", "cheerful", "glad"]
    with pytest.raises(DataDirError, match="1 unknown utterances"):
        data.subset(["nope"])


def test_spk2utt_of():
    assert spk2utt_of({"b1": "B", "a1": "A", "a2": "A"}) == {"A": "a1 a2", "B": "b1"}
