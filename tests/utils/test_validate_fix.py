"""utils/validate_data_dir.sh and utils/fix_data_dir.sh (and their emorl.bin entry points)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from emorl.data.datadir import DataDir


def write_files(directory, files):
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)


@pytest.fixture
def wavs(tmp_path):
    """Five 0.1 s wav files w1..w5 (absolute paths)."""
    paths = {}
    for i in range(1, 6):
        paths[i] = tmp_path / "audio" / f"w{i}.wav"
        paths[i].parent.mkdir(exist_ok=True)
        soundfile.write(paths[i], np.zeros(1600, dtype=np.float32), 16000)
    return paths


@pytest.fixture
def valid(tmp_path, wavs):
    """A valid data dir: 4 utterances, 2 speakers, labelled, with durations."""
    data = tmp_path / "data/train"
    write_files(
        data,
        {
            "wav.scp": "".join(f"u{i} {wavs[i]}\n" for i in range(1, 5)),
            "utt2spk": "u1 s1\nu2 s2\nu3 s1\nu4 s2\n",
            "spk2utt": "s1 u1 u3\ns2 u2 u4\n",
            "utt2emo": "u1 angry\nu2 happy\nu3 happy\nu4 sad\n",
            "utt2dur": "u1 0.1\nu2 0.1\nu3 0.1\nu4 0.1\n",
        },
    )
    return data


def test_validate_prints_summary(run, valid):
    out = run("validate_data_dir.sh", valid, "--label_set", "iemocap4", "--check_audio", "true")
    assert out.returncode == 0, out.stderr
    assert (
        out.stdout == f"{valid}: 4 utterances, 2 speakers, 0.00 h; labels: angry=1 happy=2 sad=1\n"
    )


@pytest.mark.parametrize(
    "file, text, args, message",
    [
        ("wav.scp", "u1 {w1}\nu2 {missing}\nu3 {w3}\nu4 {w4}\n", [],
         "wav.scp:2: u2: audio file {missing} does not exist"),
        ("utt2spk", "u1 s1\nu1 s2\nu3 s1\nu4 s2\n", [], "utt2spk:2: duplicate key 'u1'"),
        ("wav.scp", "u2 {w2}\nu1 {w1}\nu3 {w3}\nu4 {w4}\n", [],
         "wav.scp:2: key 'u1' is not sorted (follows 'u2')"),
        ("utt2emo", "u1 angry\nu2 happy\nu3 joy\nu4 sad\n", ["--label_set", "iemocap4"],
         "utt2emo:3: utterance u3 has label 'joy', not in the label set"),
        ("wav.scp", "u1 {w1}\nu2 {text}\nu3 {w3}\nu4 {w4}\n", ["--check_audio", "true"],
         "wav.scp:2: u2: {text} is not readable audio"),
        ("wav.scp", "u1 {w1}\nu2\nu3 {w3}\nu4 {w4}\n", [], "wav.scp:2: expected '<key> <value>'"),
    ],
)  # fmt: skip
def test_validate_reports_what_and_where(run, valid, wavs, tmp_path, file, text, args, message):
    names = {f"w{i}": p for i, p in wavs.items()}
    names.update(missing=tmp_path / "audio/none.wav", text=tmp_path / "audio/notes.txt")
    (tmp_path / "audio/notes.txt").write_text("not audio\n")
    (valid / file).write_text(text.format(**names))
    out = run("validate_data_dir.sh", valid, *args)
    assert out.returncode == 1
    assert out.stdout == ""
    assert f"validate_data_dir: {valid}/{message.format(**names)}" in out.stderr


def test_non_audio_file_stops_naming_utterance_and_file(run, valid, tmp_path):
    """Stage 1 reads the headers by default: a text file named .wav stops there."""
    fake = tmp_path / "audio" / "notes.wav"
    fake.write_text("not audio\n")
    (valid / "wav.scp").write_text(
        (valid / "wav.scp").read_text().replace(str(tmp_path / "audio/w2.wav"), str(fake))
    )
    out = run("validate_data_dir.sh", valid)
    assert out.returncode == 1
    assert f"{valid}/wav.scp:2: u2: {fake} is not readable audio" in out.stderr
    assert run("validate_data_dir.sh", valid, "--check_audio", "false").returncode == 0


def test_empty_wav_and_video_file_stop(run, valid, tmp_path):
    empty = tmp_path / "audio" / "empty.wav"
    soundfile.write(empty, np.zeros(0, dtype=np.float32), 16000)  # a header, no samples
    clip = tmp_path / "audio" / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    scp = (valid / "wav.scp").read_text()
    (valid / "wav.scp").write_text(scp.replace(str(tmp_path / "audio/w3.wav"), str(empty)))
    out = run("validate_data_dir.sh", valid)
    assert f"{valid}/wav.scp:3: u3: {empty} holds no audio samples" in out.stderr
    (valid / "wav.scp").write_text(scp.replace(str(tmp_path / "audio/w3.wav"), str(clip)))
    out = run("validate_data_dir.sh", valid)
    assert f"{valid}/wav.scp:3: u3: {clip} is not readable audio" in out.stderr
    assert "extract its audio to wav first" in out.stderr


def test_summary_counts_recordings_to_resample(run, valid, tmp_path):
    for i in (1, 3):
        soundfile.write(tmp_path / f"audio/w{i}.wav", np.zeros(800, dtype=np.float32), 8000)
    soundfile.write(tmp_path / "audio/w4.wav", np.zeros(4410, dtype=np.float32), 44100)
    out = run("validate_data_dir.sh", valid)
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip().endswith(
        "; recordings not at 16000 Hz (stage 2 resamples them): 2 at 8000 Hz, 1 at 44100 Hz"
    )


def test_validate_wrong_calls(run, valid):
    out = run("validate_data_dir.sh")
    assert out.returncode == 1 and "Usage:" in out.stderr
    out = run("validate_data_dir.sh", valid, "--label_set", "nosuchset")
    assert out.returncode == 1 and "unknown label set 'nosuchset'" in out.stderr


def test_fix_drops_incomplete_utterances_and_keeps_backup(run, tmp_path, wavs):
    data = tmp_path / "data/train"
    originals = {
        "wav.scp": "".join(f"u{i} {wavs[i]}\n" for i in (3, 1, 2, 5, 4)),
        "utt2spk": "u4 s2\nu1 s1\nu2 s2\nu3 s1\n",
        "spk2utt": "stale\n",
        "utt2emo": "u5 sad\nu1 angry\nu2 happy\nu4 sad\n",
        "text": "u1 a\nu2 b\nu3 c\nu4 d\nu5 e\nu6 f\n",
    }
    write_files(data, originals)
    write_files(data / "conf", {"notes": "kept\n"})
    out = run("fix_data_dir.sh", data)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"fix_data_dir: {data}: kept 3 of 6 utterances; dropped 3: 1 not in wav.scp (u6); "
        "2 not in utt2spk (u5, u6); 2 not in utt2emo (u3, u6)",
        f"fix_data_dir: {data}: rewrote wav.scp, utt2spk, text, utt2emo, spk2utt; "
        f"the originals are in {data}/.backup",
    ]
    fixed = DataDir.load(data)
    assert fixed.utt2spk == {"u1": "s1", "u2": "s2", "u4": "s2"}
    assert fixed.wav_scp == {f"u{i}": str(wavs[i]) for i in (1, 2, 4)}
    assert fixed.utt2emo == {"u1": "angry", "u2": "happy", "u4": "sad"}
    assert fixed.text == {"u1": "a", "u2": "b", "u4": "d"}
    assert (data / "spk2utt").read_text() == "s1 u1\ns2 u2 u4\n"
    assert {p.name: p.read_text() for p in (data / ".backup").iterdir()} == originals
    assert (data / "conf/notes").read_text() == "kept\n"


def test_fix_with_segments_drops_unused_recordings(run, tmp_path, wavs):
    data = tmp_path / "data/dev"
    write_files(
        data,
        {
            "wav.scp": f"r1 {wavs[1]}\nr2 {wavs[2]}\nr3 {wavs[3]}\n",
            "segments": "u1 r1 0 0.05\nu2 r1 0.05 0.1\nu3 r2 0 0.1\nu4 r9 0 0.1\n",
            "utt2spk": "u1 s\nu2 s\nu3 s\nu4 s\n",
            "utt2emo": "u1 sad\nu2 sad\nu4 sad\n",
        },
    )
    out = run("fix_data_dir.sh", data)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[:2] == [
        f"fix_data_dir: {data}: kept 2 of 4 utterances; dropped 2: 1 not in utt2emo (u3); "
        "1 whose recording is not in wav.scp (u4)",
        f"fix_data_dir: {data}: dropped 2 recordings of wav.scp used by no kept utterance",
    ]
    fixed = DataDir.load(data)
    assert fixed.wav_scp == {"r1": str(wavs[1])}
    assert sorted(fixed.segments) == ["u1", "u2"]


def test_fix_leaves_a_valid_dir_untouched(run, valid):
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in valid.iterdir()}
    out = run("fix_data_dir.sh", valid)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"fix_data_dir: {valid}: nothing to fix (4 utterances)\n"
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in valid.iterdir()} == before


@pytest.mark.parametrize(
    "change, message",
    [
        ({"utt2emo": "u5 sad\n"}, "no utterance is in all of wav.scp, utt2spk, utt2emo, utt2dur"),
        ({"utt2spk": "u1 s1\nu1 s2\n"}, "utt2spk:2: duplicate key 'u1'"),
        (
            {"wav.scp": "u1 /no/such.wav\nu2 x\nu3 x\nu4 x\n"},
            "wav.scp:1: u1: audio file /no/such.wav",
        ),
    ],
)
def test_fix_stops_on_what_it_cannot_fix_and_changes_nothing(run, valid, change, message):
    write_files(valid, change)
    before = {p.name: p.read_bytes() for p in valid.iterdir()}
    out = run("fix_data_dir.sh", valid)
    assert out.returncode == 1
    assert message in out.stderr
    assert {p.name: p.read_bytes() for p in valid.iterdir()} == before


def test_fix_wrong_calls(run, tmp_path):
    assert "Usage:" in run("fix_data_dir.sh").stderr
    out = run("fix_data_dir.sh", "a", "b")
    assert out.returncode == 1 and "Usage:" in out.stderr
    out = run("fix_data_dir.sh", tmp_path / "none")
    assert out.returncode == 1 and "data directory does not exist" in out.stderr
