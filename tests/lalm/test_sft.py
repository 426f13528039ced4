"""Cold-start SFT (emorl.lalm.sft) on a tiny mini-kind model and a tiny data dir."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file
from sft_fixtures import make_data_dir, tiny_config

from emorl.data.datadir import DataDirError, read_table
from emorl.lalm.data import LalmDataset, length_batches, load_task_data, read_model_task
from emorl.lalm.decode import decode_job
from emorl.lalm.decode_dir import merge_decode_dir
from emorl.lalm.model import AudioLM
from emorl.lalm.prompts import render_target
from emorl.lalm.score import score_decode_dir
from emorl.lalm.sft import SftConfig, build_model, set_trainable, train_sft
from emorl.lalm.targets import write_targets


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return make_data_dir(root, "train", 12), make_data_dir(root, "dev", 6, seed=100)


def datasets(data):
    train, dev = data
    return (
        LalmDataset.from_dir(train, "emo", train / "targets"),
        LalmDataset.from_dir(dev, "emo", dev / "targets"),
    )


def projector_weight(model_dir):
    return load_file(model_dir / "model.safetensors")["multi_modal_projector.linear.weight"]


def test_three_steps_change_the_projector_and_write_checkpoints_and_logs(
    data, tiny_whisper, tmp_path
):
    config = tiny_config(tiny_whisper)
    train, dev = datasets(data)
    torch.manual_seed(0)
    initial = build_model(config, train).model.model.multi_modal_projector.linear.weight.clone()
    best = train_sft(config, train, dev, tmp_path / "exp")

    exp = tmp_path / "exp"
    trained = projector_weight(exp / "model")
    assert not torch.allclose(trained, initial)  # the model starts from the same seeded build
    assert sorted(p.name for p in (exp / "checkpoints").glob("*.pt")) == [
        "step00000001.pt",
        "step00000002.pt",
        "step00000003.pt",
    ]
    rows = list(csv.DictReader(open(exp / "train_log.csv")))
    assert [r["step"] for r in rows] == ["1", "2", "3"]
    assert all(float(r["loss"]) > 0 for r in rows)
    assert rows[-1]["dev_accuracy"] != "" and rows[0]["dev_accuracy"] == ""
    assert list((exp / "tensorboard").glob("events.out.tfevents.*"))
    assert best["step"] == 3 and 0 <= best["dev_accuracy"] <= 1
    assert json.loads((exp / "best.json").read_text()) == best
    task = read_model_task(exp / "model")
    assert task["task"] == "emo" and task["format"] == "answer"
    assert task["label_set"][0] == "angry" and "angry" in task["prompt"]
    # the saved model loads, with the tokenizer trained on the recipe's text
    lm = AudioLM.load(exp / "model")
    assert lm.tokenizer.get_vocab() == build_model(config, train).tokenizer.get_vocab()
    assert len(lm.tokenizer) == config.vocab_size


def test_resume_after_step_two_equals_an_uninterrupted_run(data, tiny_whisper, tmp_path):
    train, dev = datasets(data)
    config = tiny_config(tiny_whisper, eval_every=2)
    train_sft(config, train, dev, tmp_path / "full")
    uninterrupted = projector_weight(tmp_path / "full" / "model")

    train_sft(config, train, dev, tmp_path / "cut")
    # Interrupted after step 2: the step-3 checkpoint and the model of step 3 never happened.
    for suffix in (".pt", ".json"):
        (tmp_path / "cut" / "checkpoints" / f"step00000003{suffix}").unlink()
    resumed_best = train_sft(config, train, dev, tmp_path / "cut", resume=True)
    resumed = projector_weight(tmp_path / "cut" / "model")
    assert torch.equal(resumed, uninterrupted)
    rows = list(csv.DictReader(open(tmp_path / "cut" / "train_log.csv")))
    assert [r["step"] for r in rows] == ["1", "2", "3"]  # step 3 logged once
    assert resumed_best == json.loads((tmp_path / "full" / "best.json").read_text())


def test_epoch_counts_score_and_save_after_whole_epochs(data, tiny_whisper, tmp_path):
    """eval_every_epochs and save_every_epochs replace the step counts: 12 utterances in
    micro-batches of 4 are 3 steps an epoch, so 3 epochs score the dev set after steps 3, 6 and 9
    and checkpoint after steps 6 and 9 (the last step always)."""
    train, dev = datasets(data)
    config = tiny_config(
        tiny_whisper, max_steps=0, num_epochs=3, eval_every=1, save_every=1,
        eval_every_epochs=1, save_every_epochs=2,
    )  # fmt: skip
    train_sft(config, train, dev, tmp_path / "exp")
    rows = list(csv.DictReader(open(tmp_path / "exp" / "train_log.csv")))
    assert [r["step"] for r in rows if r["dev_accuracy"]] == ["3", "6", "9"]
    checkpoints = sorted(p.name for p in (tmp_path / "exp" / "checkpoints").glob("*.pt"))
    assert checkpoints == ["step00000006.pt", "step00000009.pt"]


def test_epoch_counts_are_steps_of_whole_micro_batches():
    config = SftConfig(eval_every=7, save_every=5, eval_every_epochs=4, grad_accum=2)
    assert config.eval_and_save_steps(27) == (54, 5)  # 4 epochs of 13.5 steps; saves in steps
    assert SftConfig(save_every_epochs=1, grad_accum=8).eval_and_save_steps(3) == (50, 1)
    with pytest.raises(ValueError, match="eval_every_epochs must be >= 0"):
        SftConfig(label_set="mini_emo", eval_every_epochs=-1).check()


def test_a_changed_option_starts_afresh(data, tiny_whisper, tmp_path, caplog):
    train, dev = datasets(data)
    train_sft(tiny_config(tiny_whisper, max_steps=2), train, dev, tmp_path / "exp")
    train_sft(tiny_config(tiny_whisper, max_steps=2, lr=1e-3), train, dev, tmp_path / "exp", True)
    assert "made with other options (lr: 0.003 -> 0.001)" in caplog.text


def test_only_chosen_parts_train(data, tiny_whisper):
    train, _ = datasets(data)
    config = tiny_config(tiny_whisper)
    lm = build_model(config, train)
    trainable = {id(p) for p in set_trainable(lm, config)}
    inner = lm.model.model
    assert all(id(p) not in trainable for p in inner.audio_tower.parameters())
    assert all(id(p) in trainable for p in inner.multi_modal_projector.parameters())
    assert all(id(p) in trainable for p in inner.language_model.parameters())

    lora = tiny_config(tiny_whisper, trainable="projector,lora")
    lm = build_model(lora, train)
    set_trainable(lm, lora)
    names = [n for n, p in lm.model.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n or "multi_modal_projector" in n for n in names)
    with pytest.raises(ValueError, match="exclude each other"):
        tiny_config(tiny_whisper, trainable="text,lora").check()


def test_data_checks_name_the_missing_file_and_utterance(data, tmp_path):
    train = shutil.copytree(data[0], tmp_path / "train")
    (train / "utt2caption").unlink()
    load_task_data(train, "emo")  # emo does not need captions
    with pytest.raises(DataDirError, match=r"train: missing utt2caption \(the 'cap' task needs"):
        load_task_data(train, "cap")
    (train / "text").unlink()
    assert load_task_data(train, "emo").text is None  # text is optional
    lines = (train / "targets").read_text().splitlines()
    (train / "targets").write_text("\n".join(lines[:3] + lines[4:]) + "\n")
    with pytest.raises(DataDirError, match="no target for 1 utterances .*'train_003'"):
        LalmDataset.from_dir(train, "emo", train / "targets")


def test_length_batches_depend_on_seed_and_epoch_only():
    lengths = {f"u{i}": float(i % 5) for i in range(23)}
    batches = length_batches(lengths, 4, shuffle=True, seed=1, epoch=0)
    assert sorted(u for b in batches for u in b) == sorted(lengths)
    assert [len(b) for b in batches].count(4) == 5
    for b in batches:  # utterances of similar length together
        assert max(lengths[u] for u in b) - min(lengths[u] for u in b) <= 1
    assert batches == length_batches(lengths, 4, shuffle=True, seed=1, epoch=0)
    assert batches != length_batches(lengths, 4, shuffle=True, seed=1, epoch=1)
    plain = length_batches(lengths, 4)
    assert [lengths[b[0]] for b in plain] == sorted(lengths[b[0]] for b in plain)


def test_a_training_set_without_transcripts_still_trains(data, tiny_whisper, tmp_path):
    train = shutil.copytree(data[0], tmp_path / "train")
    (train / "text").unlink()  # no transcripts: the tokenizer learns from prompts and targets
    dataset = LalmDataset.from_dir(train, "emo", train / "targets")
    assert dataset.data.text is None
    config = tiny_config(tiny_whisper, max_steps=1, eval_every=1)
    best = train_sft(config, dataset, datasets(data)[1], tmp_path / "exp")
    assert best["step"] == 1 and (tmp_path / "exp" / "model" / "task.json").is_file()


def test_caption_sft_selects_on_dev_loss_and_its_decode_is_scored(data, tiny_whisper, tmp_path):
    train, dev = (shutil.copytree(d, tmp_path / d.name) for d in data)
    for d in (train, dev):  # caption targets in the answer format
        captions = read_table(d / "utt2caption")
        write_targets(d / "targets", {u: render_target("answer", c) for u, c in captions.items()})
    config = tiny_config(tiny_whisper, task="cap", label_set=None, max_steps=2, eval_every=1)
    best = train_sft(
        config,
        LalmDataset.from_dir(train, "cap", train / "targets"),
        LalmDataset.from_dir(dev, "cap", dev / "targets"),
        tmp_path / "exp",
    )
    assert "dev_loss" in best and "dev_accuracy" not in best
    model = tmp_path / "exp" / "model"
    task = read_model_task(model)
    assert task["task"] == "cap" and task["label_set"] is None
    decode_job(model, dev, tmp_path / "decode", task, max_new_tokens=4)
    merge_decode_dir(dev, tmp_path / "decode", task, nj=1)
    scores = score_decode_dir("cap", dev, tmp_path / "decode")
    assert scores["task"] == "cap" and scores["num_utts"] == 6
