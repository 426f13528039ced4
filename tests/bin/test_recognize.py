"""emorl.bin.recognize: one line per file in input order, formats, jobs, progress, bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "infer"))
from ser_exp import make_ser_exp, speechlike  # noqa: E402

from emorl.bin import recognize  # noqa: E402
from emorl.infer import Recognizer  # noqa: E402
from emorl.infer.run import job_devices  # noqa: E402


@pytest.fixture(scope="module")
def exp(tmp_path_factory) -> Path:
    return make_ser_exp(tmp_path_factory.mktemp("recipe"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """12 clips of 0.5-1.6 s: wavs at 16 and 44.1 kHz in a tree, and flacs."""
    root = tmp_path_factory.mktemp("clips")
    for i in range(12):
        sr = 44100 if i % 3 == 0 else 16000
        sub = root / ("a" if i < 6 else "b/c")
        sub.mkdir(parents=True, exist_ok=True)
        wave = speechlike(0.5 + 0.1 * i, i % 4, seed=100 + i, sr=sr)
        soundfile.write(sub / f"clip{i:02d}.{'flac' if i % 4 == 1 else 'wav'}", wave, sr)
    (root / "a" / "notes.txt").write_text("not audio, and not taken from a directory\n")
    return root


def lines(out: str) -> list[str]:
    return out.strip("\n").split("\n")


def test_tsv_and_json_lines_in_input_order(exp, clips, capsys):
    single = clips / "b/c/clip11.wav"
    recognize.main(["--exp_dir", str(exp), str(single), str(clips / "a")])
    out = lines(capsys.readouterr().out)
    files = [str(single)] + sorted(str(p) for p in (clips / "a").iterdir() if p.suffix != ".txt")
    assert [line.split("\t")[0] for line in out] == files
    expected = Recognizer.from_exp_dir(exp).recognize_batch(files)
    for line, result in zip(out, expected):
        source, label, top = line.split("\t")
        assert label == result.label
        assert top == " ".join(f"{k}:{p:.4f}" for k, p in result.top(3))

    recognize.main(["--exp_dir", str(exp), "--output", "json", str(single)])
    (record,) = [json.loads(line) for line in lines(capsys.readouterr().out)]
    assert record["source"] == str(single) and record["label"] == expected[0].label
    np.testing.assert_allclose(
        list(record["posteriors"].values()), list(expected[0].posteriors.values()), atol=1e-6
    )
    assert record["num_windows"] == 1 and record["duration"] == pytest.approx(1.6, abs=1e-3)


def test_progress_on_many_files_and_output_file(exp, clips, tmp_path, capsys):
    out = tmp_path / "one.tsv"
    recognize.main(["--exp_dir", str(exp), str(clips), "--out", str(out), "--files_per_batch", "4"])
    assert "12/12" in capsys.readouterr().err  # the progress bar (10 files or more)
    assert len(lines(out.read_text())) == 12


@pytest.mark.slow
def test_two_jobs_give_the_lines_of_one(exp, clips, tmp_path, capsys):
    one, two = tmp_path / "one.tsv", tmp_path / "two.tsv"
    options = ["--exp_dir", str(exp), str(clips), "--files_per_batch", "4"]
    recognize.main([*options, "--out", str(one)])
    recognize.main([*options, "--out", str(two), "--nj", "2"])
    first, second = lines(one.read_text()), lines(two.read_text())
    assert len(first) == 12
    assert [line.split("\t")[:2] for line in first] == [line.split("\t")[:2] for line in second]
    for a, b in zip(first, second):
        pa = [float(x.split(":")[1]) for x in a.split("\t")[2].split()]
        pb = [float(x.split(":")[1]) for x in b.split("\t")[2].split()]
        np.testing.assert_allclose(pa, pb, atol=2e-4)  # printed to 4 decimals
    capsys.readouterr()
    # A job that cannot load the model reports why (not just a broken pool).
    with pytest.raises(SystemExit) as stop:
        recognize.main(["--exp_dir", str(tmp_path), str(clips), "--nj", "2"])
    assert stop.value.code == 1
    assert f"{tmp_path}: no model of a known kind" in capsys.readouterr().err


def test_bad_input_stops_naming_it(exp, clips, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        recognize.main(["--exp_dir", str(exp), str(clips / "a/notes.txt")])
    assert stop.value.code == 1
    assert f"{clips / 'a/notes.txt'}: cannot read audio" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        recognize.main(["--exp_dir", str(exp), str(tmp_path / "nothing.wav")])
    assert stop.value.code == 2
    assert "nothing.wav: no such file or directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        recognize.main(["--exp_dir", str(exp), str(tmp_path / "empty")])
    assert "empty: a directory with no audio file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        recognize.main(["--exp_dir", str(tmp_path), str(clips / "a")])
    assert stop.value.code == 1
    assert f"{tmp_path}: no model of a known kind" in capsys.readouterr().err
    out = tmp_path / "out.tsv"
    with pytest.raises(SystemExit):
        recognize.main(
            [
                "--exp_dir",
                str(exp),
                str(clips / "a/clip00.wav"),
                str(clips / "a/notes.txt"),
                "--out",
                str(out),
            ]
        )
    assert not out.exists()  # nothing half-written


def test_jobs_share_the_cpu_or_take_the_gpus_in_turn(monkeypatch):
    assert job_devices(3, 0) == ["cpu", "cpu", "cpu"]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert job_devices(3, 2) == ["cuda:0", "cuda:1", "cuda:0"]
    with pytest.raises(ValueError, match="--ngpu 3, but this machine has 2 GPUs"):
        job_devices(1, 3)
    with pytest.raises(ValueError, match="nj must be positive"):
        job_devices(0, 0)
