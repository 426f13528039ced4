"""Stage 3 end to end on a tiny fake dump: train_ser, infer_ser, score (and their bad input)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile
import torch
import yaml

from emorl.bin import infer_ser, score, train_ser
from emorl.data.datadir import DataDir
from emorl.data.feats import FeatsInfo
from emorl.metrics.ser import UnseenLabelError
from emorl.ser import train as ser_train
from emorl.ser.dataset import CoverageError
from emorl.ser.infer import read_posteriors
from emorl.ser.model import load_model
from emorl.train import CheckpointManager

REPO = Path(__file__).resolve().parents[2]
LABEL_SET = "iemocap4"  # angry, happy, neutral, sad
LABELS = ["angry", "happy", "neutral", "sad"]
SIZES = {"train": 64, "dev": 32, "test": 32}


def write_set(
    root: Path, name: str, seed: int, labels=LABELS, upstream: str = "fake", drop=()
) -> None:
    """data/<name> and dump/<name>: 2 layers x 6 dims, T in [3, 12); the class of utterance i
    (labels[i % n]) shifts dimension i % n of the last layer by +2 on every frame."""
    rng = np.random.default_rng(seed)
    wav = root / "silence.wav"
    if not wav.exists():
        soundfile.write(wav, np.zeros(1600, dtype=np.float32), 16000)
    utts = [f"{name}_{i:03d}" for i in range(SIZES[name])]
    utt2emo = {utt: labels[i % len(labels)] for i, utt in enumerate(utts)}
    DataDir(
        wav_scp={u: str(wav) for u in utts},
        utt2spk={u: f"spk{i % 4}" for i, u in enumerate(utts)},
        utt2emo=utt2emo,
    ).write(root / "data" / name)
    dump = root / "dump" / name
    dump.mkdir(parents=True)
    with kaldiio.WriteHelper(f"ark,scp:{dump}/feats.ark,{dump}/feats.scp") as writer:
        for i, utt in enumerate(utts):
            x = rng.normal(size=(int(rng.integers(3, 12)), 2, 6)).astype(np.float32)
            x[:, -1, i % len(labels)] += 2.0
            if utt not in drop:
                writer(utt, x.reshape(x.shape[0], -1))
    FeatsInfo(upstream=upstream, layers=[3, 4], dim=6, frame_rate=50.0).save(dump)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recipe")
    for seed, name in enumerate(SIZES):
        write_set(root, name, seed)
    return root


def train_args(root: Path, exp: Path, *extra: str) -> list[str]:
    return [
        "--label_set", LABEL_SET,
        "--train_data", str(root / "data/train"), "--train_feats", str(root / "dump/train"),
        "--dev_data", str(root / "data/dev"), "--dev_feats", str(root / "dump/dev"),
        "--exp_dir", str(exp), "--batch_size", "8", "--lr", "0.005", "--hidden_dims", "32",
        "--max_epochs", "8",
        *extra,
    ]  # fmt: skip


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def trained(recipe) -> Path:
    torch.set_num_threads(1)
    exp = recipe / "exp/fake/ser_ser/seed0"
    train_ser.main(
        train_args(
            recipe,
            exp,
            "--config",
            str(REPO / "egs/mini_emo/emo1/conf/ser.yaml"),
            "--max_epochs",
            "8",
        )
    )
    return exp


def test_train_ser_learns_and_writes_its_outputs(trained):
    curve = read_csv(trained / "train_log.csv")
    events = list((trained / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0  # beside the CSV, as ESPnet's
    assert list(curve[0]) == [
        "epoch",
        "train_loss",
        "dev_loss",
        "dev_ua",
        "dev_wa",
        "dev_macro_f1",
        "lr",
    ]
    assert [int(r["epoch"]) for r in curve] == list(range(1, len(curve) + 1))
    assert max(float(r["dev_ua"]) for r in curve) >= 0.9
    assert float(curve[-1]["train_loss"]) < float(curve[0]["train_loss"])
    model, labels, config = load_model(trained)
    assert labels == LABELS and (trained / "labels").read_text().split() == LABELS
    assert config["feats"] == {"upstream": "fake", "layers": [3, 4], "dim": 6, "pooling": "none"}
    assert len(list((trained / "checkpoints").glob("epoch*.pt"))) <= 2
    saved = yaml.safe_load((trained / "config.yaml").read_text())
    assert saved["pooling"] == "stats" and saved["seed"] == 0
    assert "epoch 1:" in (trained / "train.log").read_text()


def test_infer_and_score_a_test_set(recipe, trained):
    decode = trained / "decode_test"
    infer_ser.main(
        [
            "--model_dir",
            str(trained),
            "--feats_dir",
            str(recipe / "dump/test"),
            "--out_dir",
            str(decode),
        ]
    )
    labels, posteriors = read_posteriors(decode)
    assert labels == LABELS and len(posteriors) == SIZES["test"]
    np.testing.assert_allclose([p.sum() for p in posteriors.values()], 1.0, rtol=1e-5)
    from_scp = kaldiio.load_scp(str(decode / "posteriors.scp"))
    np.testing.assert_array_equal(from_scp["test_005"], posteriors["test_005"])
    predictions = [line.split() for line in (decode / "predictions").read_text().splitlines()]
    assert [u for u, _ in predictions] == sorted(posteriors)
    assert all(label == LABELS[int(np.argmax(posteriors[u]))] for u, label in predictions)

    score.main(["--data_dir", str(recipe / "data/test"), "--decode_dir", str(decode)])
    scores = json.loads((decode / "scores.json").read_text())
    assert scores["num_utts"] == SIZES["test"] and scores["unmapped"] == {}
    assert scores["ua"] >= 0.85 and scores["wa"] >= 0.85
    assert set(scores["per_class"]) == set(LABELS)
    assert (decode / "confusion.txt").read_text().splitlines()[0].split()[1:] == LABELS
    assert (decode / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_gives_the_same_model_as_an_uninterrupted_run(recipe, monkeypatch):
    options = ("--max_epochs", "4", "--patience", "0", "--dropout", "0.3", "--seed", "3")
    full = recipe / "exp_resume/full"
    train_ser.main(train_args(recipe, full, *options))

    cut = recipe / "exp_resume/cut"
    save = CheckpointManager.save
    calls = []

    def save_then_die(self, objects, **kwargs):
        save(self, objects, **kwargs)
        calls.append(kwargs["epoch"])
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed after epoch 2

    monkeypatch.setattr(CheckpointManager, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_ser.main(train_args(recipe, cut, *options))
    monkeypatch.undo()
    assert not (cut / "model.pt").exists()
    train_ser.main(train_args(recipe, cut, *options, "--resume", "true"))

    a, b = torch.load(full / "model.pt"), torch.load(cut / "model.pt")
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key
    assert read_csv(full / "train_log.csv") == read_csv(cut / "train_log.csv")
    assert len(read_csv(cut / "train_log.csv")) == 4


def test_resume_with_other_options_starts_afresh(recipe):
    exp = recipe / "exp_resume/changed"
    train_ser.main(train_args(recipe, exp, "--max_epochs", "2"))
    train_ser.main(train_args(recipe, exp, "--max_epochs", "2", "--lr", "0.01", "--resume", "true"))
    assert "other options (lr: 0.005 -> 0.01)" in (exp / "train.log").read_text()
    assert [r["lr"] for r in read_csv(exp / "train_log.csv")] == ["0.01", "0.01"]


def test_attentive_pooling_config_with_balanced_loss_trains(recipe):
    exp = recipe / "exp/fake/ser_ser_attn/seed0"
    config_file = str(REPO / "egs/mini_emo/emo1/conf/ser_attn.yaml")
    train_ser.main(train_args(recipe, exp, "--config", config_file, "--class_weight", "balanced"))
    model, _, config = load_model(exp)
    assert config["pooling"] == "attentive" and hasattr(model, "attention")
    assert yaml.safe_load((exp / "config.yaml").read_text())["class_weight"] == "balanced"
    assert max(float(r["dev_ua"]) for r in read_csv(exp / "train_log.csv")) >= 0.9


@pytest.mark.parametrize("name", ["ser.yaml", "ser_attn.yaml"])
def test_recipe_configs_hold_only_train_ser_options(name):
    values = yaml.safe_load((REPO / "egs/mini_emo/emo1/conf" / name).read_text())
    parser = train_ser.cli.get_parser("")
    ser_train.add_arguments(parser)
    known = {a.dest for a in parser._actions}
    assert set(values) <= known


def test_missing_features_stop_unless_allowed(tmp_path):
    write_set(tmp_path, "train", 0, drop={"train_003", "train_007"})
    write_set(tmp_path, "dev", 1)
    exp = tmp_path / "exp"
    with pytest.raises(
        CoverageError, match=r"2 utterances of .*utt2emo have no features .*train_003.*train_007"
    ):
        train_ser.main(train_args(tmp_path, exp))
    train_ser.main(train_args(tmp_path, exp, "--allow_missing", "true", "--max_epochs", "1"))
    assert (exp / "model.pt").is_file()


def test_dev_label_outside_the_label_set_stops_naming_the_line(tmp_path):
    write_set(tmp_path, "train", 0)
    write_set(tmp_path, "dev", 1, labels=["angry", "fear", "neutral", "sad"])
    with pytest.raises(ValueError, match=r"dev/utt2emo:2: utterance dev_001 has label 'fear'"):
        train_ser.main(train_args(tmp_path, tmp_path / "exp"))


def test_scoring_a_test_set_with_unseen_labels(recipe, trained, tmp_path):
    write_set(tmp_path, "test", 2, labels=["angry", "fear", "surprise", "sad"])
    decode = tmp_path / "decode_test"
    infer_ser.main(
        [
            "--model_dir",
            str(trained),
            "--feats_dir",
            str(tmp_path / "dump/test"),
            "--out_dir",
            str(decode),
        ]
    )
    argv = ["--data_dir", str(tmp_path / "data/test"), "--decode_dir", str(decode)]
    with pytest.raises(
        UnseenLabelError, match=r"'fear': 8 utts \(e.g. test_001\), 'surprise': 8 utts"
    ):
        score.main(argv)
    label_map = tmp_path / "map.txt"
    label_map.write_text("fear sad  # the nearest class the model has\n")
    score.main(argv + ["--label_map", str(label_map)])
    scores = json.loads((decode / "scores.json").read_text())
    assert scores["unmapped"] == {"surprise": 8}
    assert scores["num_utts"] == 24
    assert scores["per_class"]["sad"]["support"] == 16


def test_infer_rejects_features_of_another_upstream(recipe, trained, tmp_path):
    write_set(tmp_path, "test", 2, upstream="other")
    with pytest.raises(
        ValueError, match=r"upstream='other', but the model .* was trained on upstream='fake'"
    ):
        infer_ser.main(
            [
                "--model_dir",
                str(trained),
                "--feats_dir",
                str(tmp_path / "dump/test"),
                "--out_dir",
                str(tmp_path / "d"),
            ]
        )


@pytest.mark.slow
def test_two_process_data_parallel_run_trains(recipe, tmp_path):
    exp = tmp_path / "exp_ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "emorl.bin.train_ser", *train_args(recipe, exp, "--max_epochs", "6")]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    model, labels, _ = load_model(exp)
    assert labels == LABELS
    curve = read_csv(exp / "train_log.csv")
    assert len(curve) == 6 and max(float(r["dev_ua"]) for r in curve) >= 0.9
