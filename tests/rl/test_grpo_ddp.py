"""GRPO with several processes (emorl.rl.grpo_trainer under torchrun's environment): two CPU
processes joined by gloo end where one process ends on the same prompts and completions, and only
rank 0 writes files.

Sampling draws from one generator per process, so two processes sample other completions than one
(by design: see the trainer's docstring). The comparison therefore fixes the completions: the
trainer's ``generate`` is replaced by one that samples each prompt's group with a generator seeded
by the seed, the step and the utterance, whichever process the prompt lands on."""

from __future__ import annotations

import csv
import shutil
import sys
import zlib
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lalm"))
from lalm_fixtures import TEXTS, TINY_TEXT, save_tiny_whisper, synth_wave  # noqa: E402
from multiproc import run_processes  # noqa: E402

from emorl.lalm.model import AudioLM, Generation  # noqa: E402
from emorl.lalm.prompts import instruction  # noqa: E402
from emorl.rl.grpo_trainer import (  # noqa: E402
    GRPOConfig,
    GRPOTrainer,
    PromptDataset,
    RunSettings,
    project,
    step_utts,
)
from emorl.rl.rewards import register_reward, registry  # noqa: E402

LABELS = ["angry", "happy", "neutral", "sad"]
UTTS = {"utt_a": "angry", "utt_b": "sad", "utt_c": "happy", "utt_d": "neutral"}
# 3 prompts per step over 2 processes (2 + 1), a flat group (utt_a: zero advantage, skipped),
# batch-level reward scaling (needs every process's rewards), token-level loss (needs the token
# count of the whole step), 2 iterations (clipping, two all-reduces per step), KL to the
# adapter-disabled reference.
OPTIONS = dict(
    task="emo",
    format="answer",
    rewards={"ddp_flat_for_a": 1.0},
    num_generations=4,
    prompts_per_step=3,
    max_completion_length=6,
    beta=0.04,
    num_iterations=2,
    loss_type="token",
    scale_rewards="batch",
    learning_rate=1e-2,
    max_steps=2,
    save_steps=1,
)


def flat_for_a(predictions, references, utts=None, **context):
    """1 for every completion of utt_a, else the completion's length in characters mod 3."""
    return [
        1.0 if u == "utt_a" else float(len(c) % 3) for u, c in zip(utts, context["completions"])
    ]


class FixedSampling(GRPOTrainer):
    """Completions that do not depend on which process samples them."""

    def generate(self, prompts, states, step):
        c, outs = self.config, []
        for prompt, state in zip(prompts, states):
            seed = zlib.crc32(f"{self.run.seed}/{step}/{prompt.utt}".encode())
            with torch.no_grad():
                outs.append(
                    self.lm.generate(
                        [prompt],
                        group_size=c.num_generations,
                        max_new_tokens=c.max_completion_length,
                        temperature=c.temperature,
                        audio=project(self.lm, [state]),
                        generator=torch.Generator().manual_seed(seed),
                    )
                )
        width = c.max_completion_length

        def cat(name, value):
            return torch.cat(
                [F.pad(getattr(o, name), (0, width - o.ids.shape[1]), value=value) for o in outs]
            )

        return Generation(
            ids=cat("ids", self.lm.pad_id),
            mask=cat("mask", 0),
            texts=[t for o in outs for t in o.texts],
            finished=torch.cat([o.finished for o in outs]),
        )


def train(
    root: Path,
    exp_dir: Path,
    trainer_class: type[GRPOTrainer] = FixedSampling,
    deepspeed: str | None = None,
    resume: bool = False,
) -> dict[str, torch.Tensor]:
    """Two GRPO steps of the tiny LoRA model; its trainable parameters at the end."""
    if "ddp_flat_for_a" not in registry._REGISTRY:
        register_reward("ddp_flat_for_a", needs=("completions",))(flat_for_a)
    lm = AudioLM.build_mini(
        TEXTS + LABELS, whisper_checkpoint=root / "tiny.pt", vocab_size=400, seed=0, **TINY_TEXT
    )
    lm.enable_lora(r=4, alpha=8)
    seconds = {utt: 0.8 + 0.3 * i for i, utt in enumerate(UTTS)}
    waves = {utt: synth_wave(s, seed=i) for i, (utt, s) in enumerate(seconds.items())}
    dataset = PromptDataset(dict(UTTS), waves.__getitem__, instruction("emo", "answer", LABELS))
    run = RunSettings(exp_dir, seed=1, label_set=LABELS, resume=resume, deepspeed=deepspeed)
    trainer = trainer_class(lm, dataset, GRPOConfig(**OPTIONS), run)
    trainer.train()
    with trainer.gathered():
        return {n: p.detach().clone() for n, p in lm.peft.named_parameters() if p.requires_grad}


def grpo_worker(rank: int, root: Path) -> None:
    exp = root / ("exp" if rank == 0 else f"exp_rank{rank}")
    torch.save(train(root, exp), root / f"rank{rank}.pt")


@pytest.fixture
def root(tmp_path) -> Path:
    save_tiny_whisper(tmp_path / "tiny.pt")
    yield tmp_path
    registry._REGISTRY.pop("ddp_flat_for_a", None)


def test_two_processes_equal_one_process_on_the_same_completions(root):
    run_processes(grpo_worker, 2, root)
    one = train(root, root / "one")
    ranks = [torch.load(root / f"rank{r}.pt") for r in (0, 1)]
    for name, value in ranks[0].items():
        assert torch.equal(value, ranks[1][name]), name  # the replicas stay identical
    # float32 rounding only: the processes run other batch shapes and sum in another order
    # (measured 4.5e-7; without the gradient all-reduce the replicas differ from the first step)
    moved = max(float((one[n] - v).abs().max()) for n, v in ranks[0].items())
    print(f"max |two processes - one process| = {moved:.3g}")
    for name, value in one.items():
        torch.testing.assert_close(ranks[0][name], value, rtol=0, atol=2e-6)

    rows = list(csv.DictReader(open(root / "exp" / "train_log.csv")))
    single = list(csv.DictReader(open(root / "one" / "train_log.csv")))
    assert [r["step"] for r in rows] == ["1", "2"]
    assert any(float(r["zero_adv_frac"]) > 0 for r in rows)  # utt_a's flat group was skipped
    for r, s in zip(rows, single):  # the log row covers both processes' completions
        for key in ("reward", "reward_std", "zero_adv_frac", "completion_length", "accuracy"):
            assert r[key] == s[key], key
        for key in ("loss", "kl", "clip_fraction", "grad_norm"):
            assert abs(float(r[key]) - float(s[key])) < 1e-5, key
    assert sorted(p.name for p in (root / "exp" / "checkpoints").glob("*.pt")) == [
        "step00000001.pt",
        "step00000002.pt",
    ]
    assert not (root / "exp_rank1").exists()


def test_fewer_prompts_than_processes_stop(root, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")  # read by Distributed; one process stands for four
    from emorl.train import distributed

    monkeypatch.setattr(distributed.dist, "init_process_group", lambda backend: None)
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: True)
    with pytest.raises(ValueError, match="prompts_per_step 3 < 4 processes"):
        train(root, root / "exp")


DS_CONFIG = (
    Path(__file__).resolve().parents[2] / "egs" / "TEMPLATE" / "lalm1" / "conf" / "ds_zero3.json"
)


def sampling_worker(rank: int, root: Path, exp: str, deepspeed: bool, resume: bool) -> None:
    """The trainer's own sampling (one generator per process), with or without ZeRO-3."""
    config = str(DS_CONFIG) if deepspeed else None
    params = train(root, root / exp, GRPOTrainer, config, resume)
    if rank == 0:
        torch.save(params, root / f"{exp}.pt")


def test_zero3_equals_plain_data_parallel_and_resumes_exactly(root):
    """ZeRO-3 over 3 processes against the plain all-reduce over 3 processes: the same sampled
    completions (each process seeds its generator by the seed, the step and its rank). Each
    process has one prompt per step; in step 1 rank 0's is utt_a, whose group is flat, so it has
    no group to learn from and runs stand-in passes while the others learn."""
    pytest.importorskip("deepspeed")
    assert step_utts(sorted(UTTS), 1, OPTIONS["prompts_per_step"], 1)[0] == "utt_a"
    run_processes(sampling_worker, 3, root, "plain", False, False)
    run_processes(sampling_worker, 3, root, "zero", True, False)
    plain, zero = torch.load(root / "plain.pt"), torch.load(root / "zero.pt")
    assert plain.keys() == zero.keys()
    moved = max(float((plain[n] - v).abs().max()) for n, v in zero.items())
    print(f"max |ZeRO-3 - plain data parallel| = {moved:.3g}")
    # float32 rounding (other reduction orders; the projector runs once per batch), which AdamW
    # turns into visible steps for the few entries whose gradient is ~0 (it divides a gradient
    # by its own scale): measured 5 of 1280 entries over 2e-6, at most 2.0e-5, after 2 steps of
    # 2 iterations at lr 1e-2. A lost or doubled gradient moves most entries by ~1e-2.
    diffs = torch.cat([(zero[n] - v).abs().flatten() for n, v in plain.items()])
    assert float((diffs > 2e-6).float().mean()) < 0.01
    assert float(diffs.max()) < 1e-4
    rows = list(csv.DictReader(open(root / "zero" / "train_log.csv")))
    single = list(csv.DictReader(open(root / "plain" / "train_log.csv")))
    assert any(float(r["zero_adv_frac"]) > 0 for r in rows)
    for r, s in zip(rows, single):
        for key in ("reward", "zero_adv_frac", "completion_length"):
            assert r[key] == s[key], key
        for key in ("loss", "kl", "grad_norm"):
            assert abs(float(r[key]) - float(s[key])) < 1e-5, key
    shards = root / "zero" / "checkpoints" / "zero" / "step00000002"
    assert len(list(shards.glob("*optim_states.pt"))) == 3  # one per process

    shutil.copytree(root / "zero", root / "cut")
    for suffix in (".pt", ".json"):  # interrupted after step 1
        (root / "cut" / "checkpoints" / f"step00000002{suffix}").unlink()
    run_processes(sampling_worker, 3, root, "cut", True, True)
    resumed = torch.load(root / "cut.pt")
    for name, value in zero.items():
        assert torch.equal(resumed[name], value), name
