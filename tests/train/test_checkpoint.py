"""Checkpoints: safe loading, keep-last-k, resume only into the same run, peft adapters."""

import logging
import os
import pickle
import random

import numpy as np
import pytest
import torch

from emorl.train import CheckpointError, CheckpointManager, load_checkpoint_file


class RunsCode:
    """Unpickling this calls os.system: the classic malicious checkpoint."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_runs_code_is_refused_and_its_code_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "epoch001.pt"
    torch.save({"model": RunsCode(marker)}, evil)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_file(evil, "SER model")
    message = str(err.value)
    assert str(evil) in message and "refused" in message and "code" in message
    assert "weights_only=False" not in message and "weights_only" not in message
    assert not marker.exists()


def test_a_raw_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "model.pt"
    evil.write_bytes(pickle.dumps(RunsCode(marker)))
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint_file(evil)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n", b"PK\x03\x04trunc"])
def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_file(path, "Whisper checkpoint")
    message = str(err.value)
    assert message.startswith(f"{path}: not a PyTorch Whisper checkpoint")
    assert "weights_only" not in message


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="model.pt"):
        load_checkpoint_file(tmp_path / "model.pt")


def test_tensors_and_plain_containers_load(tmp_path):
    path = tmp_path / "ok.pt"
    torch.save({"w": torch.arange(3), "n": 2, "names": ["a", "b"]}, path)
    loaded = load_checkpoint_file(path)
    assert loaded["n"] == 2 and loaded["names"] == ["a", "b"]
    assert loaded["w"].tolist() == [0, 1, 2]


def make_run(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", patience=1)
    return model, optimizer, scheduler


def train_step(model, optimizer):
    loss = model(torch.randn(4, 3)).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def test_save_keeps_the_last_k_and_resume_restores_state_and_rng(tmp_path):
    model, optimizer, scheduler = make_run()
    manager = CheckpointManager(
        tmp_path, options={"lr": 0.1}, fingerprint={"data": "abc"}, keep_last=2
    )
    for epoch in (1, 2, 3):
        train_step(model, optimizer)
        scheduler.step(0.5)
        manager.save(
            {"model": model, "optimizer": optimizer, "scheduler": scheduler},
            epoch=epoch,
            meta={"best": epoch / 10},
        )
    assert [p.name for p in manager.paths()] == ["epoch002.pt", "epoch003.pt"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "epoch002.json",
        "epoch002.pt",
        "epoch003.json",
        "epoch003.pt",
    ]
    expected_torch = torch.rand(3)
    expected_py = random.random()
    expected_np = np.random.rand()

    other, other_opt, other_sched = make_run(seed=5)
    random.random(), np.random.rand(), torch.rand(7)  # move the generators on
    checkpoint = CheckpointManager(tmp_path, {"lr": 0.1}, {"data": "abc"}).load_latest()
    assert checkpoint.epoch == 3 and checkpoint.meta["meta"] == {"best": 0.3}
    checkpoint.restore({"model": other, "optimizer": other_opt, "scheduler": other_sched})
    assert torch.equal(other.weight, model.weight)
    assert other_opt.state_dict()["state"][0]["step"] == 3
    assert other_sched.state_dict()["num_bad_epochs"] == scheduler.state_dict()["num_bad_epochs"]
    # the generators continue as they would have after the save of epoch 3
    assert torch.equal(torch.rand(3), expected_torch)
    assert random.random() == expected_py and np.random.rand() == expected_np


def test_step_names_and_order(tmp_path):
    manager = CheckpointManager(tmp_path, options={}, keep_last=3)
    for step in (100, 200, 300, 400):
        manager.save({"w": torch.tensor([step])}, step=step)
    assert [p.name for p in manager.paths()] == [
        "step00000200.pt",
        "step00000300.pt",
        "step00000400.pt",
    ]
    checkpoint = manager.load_latest()
    assert checkpoint.step == 400 and checkpoint.tensors["w"].item() == 400


@pytest.mark.parametrize(
    "options, fingerprint, why",
    [
        ({"lr": 0.01, "kl_coef": 0.1}, {"data": "abc"}, "lr: 0.1 -> 0.01"),
        (
            {"lr": 0.1, "kl_coef": 0.0},
            {"data": "abc", "init_model": "x"},
            "init_model: None -> 'x'",
        ),
        ({"lr": 0.1, "kl_coef": 0.0}, {"data": "abd"}, "data: 'abc' -> 'abd'"),
    ],
)
def test_changed_options_or_inputs_start_afresh(tmp_path, caplog, options, fingerprint, why):
    model, optimizer, _ = make_run()
    old = CheckpointManager(tmp_path, {"lr": 0.1, "kl_coef": 0.0}, {"data": "abc"})
    old.save({"model": model}, epoch=1)
    manager = CheckpointManager(tmp_path, options, fingerprint)
    with caplog.at_level(logging.INFO):
        assert manager.resume() is None
    assert why in caplog.text and "starting afresh" in caplog.text
    if "lr" in why:
        assert "kl_coef" in caplog.text  # every key that differs is named
    assert not (tmp_path / "checkpoints").exists()


def test_same_options_in_another_order_or_as_tuples_resume(tmp_path):
    CheckpointManager(tmp_path, {"dims": (1, 2), "a": 1}).save({"w": torch.zeros(1)}, epoch=1)
    assert CheckpointManager(tmp_path, {"a": 1, "dims": [1, 2]}).load_latest() is not None


def test_resume_disabled_clears(tmp_path):
    manager = CheckpointManager(tmp_path, {})
    manager.save({"w": torch.zeros(1)}, epoch=1)
    assert manager.resume(enabled=False) is None
    assert manager.paths() == []


def test_an_incomplete_checkpoint_is_ignored(tmp_path):
    manager = CheckpointManager(tmp_path, {})
    manager.save({"w": torch.zeros(1)}, epoch=1)
    manager.save({"w": torch.ones(1)}, epoch=2)
    (tmp_path / "checkpoints" / "epoch002.json").unlink()  # killed between the two writes
    assert manager.load_latest().epoch == 1


def test_a_malicious_checkpoint_in_the_exp_dir_is_refused(tmp_path):
    manager = CheckpointManager(tmp_path, {})
    pt = manager.save({"w": torch.zeros(1)}, epoch=1)
    marker = tmp_path / "pwned"
    torch.save({"w": RunsCode(marker)}, pt)
    with pytest.raises(CheckpointError, match="epoch001.pt: refused"):
        manager.load_latest()
    assert not marker.exists()


def test_peft_model_saves_and_restores_only_its_adapters(tmp_path):
    peft = pytest.importorskip("peft")

    def build(seed):
        torch.manual_seed(seed)
        base = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        config = peft.LoraConfig(r=2, target_modules=["0", "2"], init_lora_weights=False)
        return peft.get_peft_model(base, config)

    model = build(0)
    CheckpointManager(tmp_path, {}).save({"model": model}, step=10)
    saved = CheckpointManager(tmp_path, {}).load_latest()
    assert saved.tensors["model"] and all("lora_" in k for k in saved.tensors["model"])
    other = build(0)  # same base weights, other adapters after a new random init
    torch.manual_seed(1)
    for name, p in other.named_parameters():
        if "lora_" in name:
            torch.nn.init.normal_(p)
    x = torch.randn(3, 4)
    assert not torch.allclose(other(x), model(x))
    saved.restore({"model": other}, rng=False)
    assert torch.allclose(other(x), model(x))
