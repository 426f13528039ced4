"""Stage 4 end to end on a tiny fake dump: train_ser -> train_bgrpo -> infer_ser (and bad input)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile
import torch
import yaml

from emorl.bin import infer_ser, train_bgrpo, train_ser
from emorl.data.datadir import DataDir, DataDirError
from emorl.data.feats import FeatsInfo, read_feats
from emorl.rl.teacher import TeacherError
from emorl.ser.infer import read_posteriors, write_decode_dir
from emorl.ser.model import load_model, save_model
from emorl.train import CheckpointManager

REPO = Path(__file__).resolve().parents[2]
ADAPT_CONFS = sorted((REPO / "egs/mini_emo/emo1/conf/adapt").glob("*.yaml"))
LABELS = ["angry", "happy", "neutral", "sad"]  # iemocap4


def write_set(root: Path, name: str, num_utts: int, seed: int, shift: float, labels=LABELS) -> None:
    """data/<name> and dump/<name> (1 layer x 4 dims): class k raises dim k by 2; the target
    domain adds ``shift`` to every frame's first two dims."""
    rng = np.random.default_rng(seed)
    wav = root / "silence.wav"
    if not wav.exists():
        soundfile.write(wav, np.zeros(1600, dtype=np.float32), 16000)
    utts = [f"{name}_{i:03d}" for i in range(num_utts)]
    DataDir(
        wav_scp={u: str(wav) for u in utts},
        utt2spk={u: f"{name}spk{i % 3}" for i, u in enumerate(utts)},
        utt2emo={u: labels[i % len(labels)] for i, u in enumerate(utts)},
    ).write(root / "data" / name)
    dump = root / "dump" / name
    dump.mkdir(parents=True)
    with kaldiio.WriteHelper(f"ark,scp:{dump}/feats.ark,{dump}/feats.scp") as writer:
        for i, utt in enumerate(utts):
            x = rng.normal(0.0, 0.8, size=(int(rng.integers(3, 8)), 4)).astype(np.float32)
            x[:, i % len(labels)] += 2.0
            x[:, :2] += shift
            writer(utt, x)
    FeatsInfo(upstream="fake", layers=[0], dim=4, frame_rate=50.0).save(dump)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """Source train/dev sets, a target train set, and a stage-3 model trained on the source."""
    root = tmp_path_factory.mktemp("recipe")
    write_set(root, "src_train", 64, seed=0, shift=0.0)
    write_set(root, "src_dev", 24, seed=1, shift=0.0)
    write_set(root, "tgt_train", 40, seed=2, shift=1.0)
    train_ser.main(
        [
            "--label_set", "iemocap4", "--exp_dir", str(root / "exp/ser"), "--seed", "1",
            "--train_data", str(root / "data/src_train"),
            "--train_feats", str(root / "dump/src_train"),
            "--dev_data", str(root / "data/src_dev"), "--dev_feats", str(root / "dump/src_dev"),
            "--batch_size", "16", "--hidden_dims", "16", "--max_epochs", "5", "--lr", "0.01",
        ]
    )  # fmt: skip
    return root


def adapt_args(root: Path, exp: Path, *extra: str) -> list[str]:
    return [
        "--init_model", str(root / "exp/ser"),
        "--unlabeled_data", str(root / "data/tgt_train"),
        "--unlabeled_feats", str(root / "dump/tgt_train"),
        "--source_data", str(root / "data/src_train"),
        "--source_feats", str(root / "dump/src_train"),
        "--exp_dir", str(exp), "--seed", "1", "--epochs", "2", "--batch_size", "8",
        *extra,
    ]  # fmt: skip


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def same_weights(a: Path, b: Path) -> bool:
    sa, sb = load_model(a)[0].state_dict(), load_model(b)[0].state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_recipe_configs_exist():
    names = {p.stem for p in ADAPT_CONFS}
    expected = {
        "bgrpo",
        "bgrpo_self",
        "bgrpo_teacher",
        "bgrpo_keepneg",
        "pseudo_label",
        "entropy_min",
    }
    assert expected <= names


@pytest.mark.parametrize("conf", ADAPT_CONFS, ids=[p.stem for p in ADAPT_CONFS])
def test_every_recipe_config_adapts_and_decodes(recipe, tmp_path, conf):
    exp = tmp_path / "adapt"
    # the weak tiny model is never 90% sure: lower pseudo_label's threshold so that it selects some
    train_bgrpo.main(
        ["--config", str(conf), *adapt_args(recipe, exp, "--epochs", "1", "--threshold", "0.4")]
    )
    model, labels, config = load_model(exp)
    assert labels == LABELS
    assert not same_weights(exp, recipe / "exp/ser")
    saved = yaml.safe_load((exp / "config.yaml").read_text())
    conf_values = yaml.safe_load(conf.read_text())
    overridden = ("epochs", "batch_size", "threshold")
    assert {k: saved[k] for k in conf_values if k not in overridden} == {
        k: v for k, v in conf_values.items() if k not in overridden
    }
    rows = read_csv(exp / "train_log.csv")
    assert len(rows) == 5  # 40 utterances, batches of 8, one epoch
    assert all(0.0 <= float(r["pseudo_label_acc"]) <= 1.0 for r in rows)
    infer_ser.main(
        [
            "--model_dir",
            str(exp),
            "--feats_dir",
            str(recipe / "dump/tgt_train"),
            "--out_dir",
            str(exp / "decode"),
        ]
    )
    decoded_labels, posteriors = read_posteriors(exp / "decode")
    assert decoded_labels == LABELS and len(posteriors) == 40


def test_command_line_rewards_and_resume(recipe, tmp_path, monkeypatch):
    rewards = ["--rewards", "self_neg_entropy=1,teacher_agreement=0.5", "--kl_coef", "0.1"]
    train_bgrpo.main(adapt_args(recipe, tmp_path / "full", *rewards))
    rows = read_csv(tmp_path / "full/train_log.csv")
    assert {"reward_self_neg_entropy", "reward_teacher_agreement", "kl"} <= set(rows[0])
    assert "reward_self_max_prob" not in rows[0]
    assert float(rows[0]["kl"]) == pytest.approx(0.0, abs=1e-3)  # the first step starts at init
    # interrupted after epoch 1, then resumed: the same model as the uninterrupted run
    save = CheckpointManager.save

    def save_then_die(self, objects, **kwargs):
        save(self, objects, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(CheckpointManager, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_bgrpo.main(adapt_args(recipe, tmp_path / "cut", *rewards))
    monkeypatch.undo()
    train_bgrpo.main(adapt_args(recipe, tmp_path / "cut", *rewards, "--resume", "true"))
    assert "epoch001.pt (epoch 1 done)" in (tmp_path / "cut/train.log").read_text()
    assert same_weights(tmp_path / "full", tmp_path / "cut")
    assert len(read_csv(tmp_path / "cut/train_log.csv")) == 10


@pytest.mark.parametrize(
    "change, why",
    [
        (("--kl_coef", "0.2"), "other options (kl_coef: 0.1 -> 0.2)"),
        (("--lr", "0.001"), "other options (lr: 0.0001 -> 0.001)"),
        ("init_model", "other inputs (init_model: '"),
        ("unlabeled_feats", "other inputs (unlabeled_feats: '"),
    ],
)
def test_resume_never_returns_the_old_model_for_other_options_or_inputs(
    recipe, tmp_path, change, why
):
    """Stale result 1: --resume true after a change of the initial model (same path, new
    weights), of lr or kl_coef, or of the target dump's values (same feats.scp)."""
    init, dump = tmp_path / "init", tmp_path / "dump"
    shutil.copytree(recipe / "exp/ser", init)
    shutil.copytree(recipe / "dump/tgt_train", dump)
    scp = dump / "feats.scp"
    scp.write_text(scp.read_text().replace(str(recipe / "dump/tgt_train"), str(dump)))
    args = adapt_args(recipe, tmp_path / "exp", "--kl_coef", "0.1", "--lr", "1e-4")
    args[args.index("--init_model") + 1] = str(init)
    args[args.index("--unlabeled_feats") + 1] = str(dump)
    train_bgrpo.main([*args, "--resume", "true"])
    first = load_model(tmp_path / "exp")[0].state_dict()
    if change == "init_model":  # retrained in place: other weights behind the same path
        model, labels, config = load_model(init)
        with torch.no_grad():
            model.head[-1].bias.add_(0.5)
        save_model(model, init, labels, config)
    elif change == "unlabeled_feats":  # stage 2 redone: the same feats.scp, other values
        ark = bytearray((dump / "feats.ark").read_bytes())
        ark[-8:] = np.array([3.0, 4.0], dtype=np.float32).tobytes()
        (dump / "feats.ark").write_bytes(bytes(ark))
    else:
        args += list(change)
    train_bgrpo.main([*args, "--resume", "true"])
    log = (tmp_path / "exp/train.log").read_text()
    assert why in log and "starting afresh" in log
    second = load_model(tmp_path / "exp")[0].state_dict()
    assert not all(torch.equal(first[k], second[k]) for k in first)


def test_source_cross_entropy_is_interleaved(recipe, tmp_path):
    train_bgrpo.main(adapt_args(recipe, tmp_path / "exp", "--source_ce_coef", "1.0"))
    rows = read_csv(tmp_path / "exp/train_log.csv")
    assert all(float(r["source_ce"]) > 0 for r in rows)


def test_target_labels_of_another_corpus_map_for_analysis(recipe, tmp_path):
    root = tmp_path
    write_set(root, "other", 20, seed=3, shift=1.0, labels=["anger", "joy", "neutral", "sadness"])
    (root / "map").write_text("anger angry\njoy happy\n")  # sadness left out
    args = adapt_args(recipe, root / "exp", "--unlabeled_label_map", str(root / "map"))
    args[args.index("--unlabeled_data") + 1] = str(root / "data/other")
    args[args.index("--unlabeled_feats") + 1] = str(root / "dump/other")
    train_bgrpo.main(args)
    assert all(r["pseudo_label_acc"] != "" for r in read_csv(root / "exp/train_log.csv"))
    assert "sadness" in (root / "exp/train.log").read_text()


def test_teacher_from_a_decode_dir_with_another_label_set(recipe, tmp_path):
    model, _, _ = load_model(recipe / "exp/ser")
    _, posteriors = read_posteriors(_decode(recipe, tmp_path))
    five = ["angry", "calm", "happy", "neutral", "sad"]
    write_decode_dir(
        tmp_path / "teacher", {u: np.insert(p * 0.9, 1, 0.1) for u, p in posteriors.items()}, five
    )
    args = adapt_args(
        recipe,
        tmp_path / "exp",
        "--teacher",
        "posteriors",
        "--teacher_dir",
        str(tmp_path / "teacher"),
    )
    with pytest.raises(
        TeacherError, match=r"teacher labels \['angry', 'calm'.*student labels \['angry', 'happy'"
    ):
        train_bgrpo.main(args)
    (tmp_path / "map").write_text("calm neutral\n")
    train_bgrpo.main([*args, "--teacher_label_map", str(tmp_path / "map")])
    assert (tmp_path / "exp/model.pt").is_file()


def _decode(recipe: Path, tmp_path: Path) -> Path:
    out = tmp_path / "decode_init"
    infer_ser.main(
        [
            "--model_dir",
            str(recipe / "exp/ser"),
            "--feats_dir",
            str(recipe / "dump/tgt_train"),
            "--out_dir",
            str(out),
        ]
    )
    return out


def test_bad_input(recipe, tmp_path):
    with pytest.raises(ValueError, match="batch of one has no baseline"):
        train_bgrpo.main(adapt_args(recipe, tmp_path / "a", "--batch_size", "1"))
    empty = tmp_path / "data/empty"
    empty.mkdir(parents=True)
    (empty / "wav.scp").write_text("")
    (empty / "utt2spk").write_text("")
    args = adapt_args(recipe, tmp_path / "b")
    args[args.index("--unlabeled_data") + 1] = str(empty)
    with pytest.raises(DataDirError, match="empty data directory"):
        train_bgrpo.main(args)
    write_set(
        tmp_path, "other", 12, seed=4, shift=1.0
    )  # its utterances are not in tgt_train's dump
    args = adapt_args(recipe, tmp_path / "c")
    args[args.index("--unlabeled_data") + 1] = str(tmp_path / "data/other")
    with pytest.raises(ValueError, match=r"no features for 12 utterances"):
        train_bgrpo.main(args)
    args = adapt_args(recipe, tmp_path / "d", "--source_ce_coef", "1")
    for option in ("--source_data", "--source_feats"):
        del args[args.index(option) : args.index(option) + 2]
    with pytest.raises(ValueError, match="needs --source_data and --source_feats"):
        train_bgrpo.main(args)


def test_renormalize_without_updates(recipe, tmp_path):
    """--renormalize true --epochs 0: the initial model with target input statistics, no update."""
    exp = tmp_path / "exp"
    train_bgrpo.main(adapt_args(recipe, exp, "--renormalize", "true", "--epochs", "0"))
    adapted, init = load_model(exp)[0].state_dict(), load_model(recipe / "exp/ser")[0].state_dict()
    _, feats = read_feats(recipe / "dump/tgt_train")
    frames = np.concatenate(list(feats.values()))
    np.testing.assert_allclose(adapted["feat_mean"].numpy(), frames.mean(axis=0), atol=1e-4)
    assert not torch.allclose(adapted["feat_mean"], init["feat_mean"])
    assert all(torch.equal(adapted[k], init[k]) for k in init if not k.startswith("feat_"))
    assert not (exp / "train_log.csv").exists()
