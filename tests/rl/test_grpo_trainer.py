"""The GRPO trainer for audio-LMs on a tiny from-scratch model: encoding once per clip, skipped
zero-advantage groups, KL, clipping, logs, checkpoints and bit-exact resume, bad input."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lalm"))
from lalm_fixtures import TEXTS, TINY_TEXT, save_tiny_whisper, synth_wave  # noqa: E402

from emorl.lalm.model import AudioLM  # noqa: E402
from emorl.lalm.prompts import instruction  # noqa: E402
from emorl.rl import grpo_trainer  # noqa: E402
from emorl.rl.grpo_trainer import (  # noqa: E402
    GRPOConfig,
    GRPOTrainer,
    PromptDataset,
    RunSettings,
    project,
    tower_states,
)
from emorl.rl.rewards import RewardError  # noqa: E402

LABELS = ["angry", "happy", "neutral", "sad"]
UTTS = {"utt_a": "angry", "utt_b": "sad", "utt_c": "happy", "utt_d": "neutral"}


@pytest.fixture(scope="module")
def whisper_ckpt(tmp_path_factory) -> Path:
    return save_tiny_whisper(tmp_path_factory.mktemp("whisper") / "tiny.pt")


@pytest.fixture
def make_lm(whisper_ckpt):
    def make(lora: bool = False, freeze: bool = True) -> AudioLM:
        lm = AudioLM.build_mini(
            TEXTS + LABELS, whisper_checkpoint=whisper_ckpt, vocab_size=400, seed=0, **TINY_TEXT
        )
        if lora:
            lm.enable_lora(r=4, alpha=8)
        elif freeze:
            lm.freeze_reference()
        return lm

    return make


@pytest.fixture
def dataset() -> PromptDataset:
    seconds = {utt: 0.8 + 0.3 * i for i, utt in enumerate(UTTS)}
    waves = {utt: synth_wave(s, seed=i) for i, (utt, s) in enumerate(seconds.items())}
    return PromptDataset(dict(UTTS), waves.__getitem__, instruction("emo", "answer", LABELS))


@pytest.fixture
def length_reward(scratch_reward):
    """``length3``: completion length in characters mod 3 (varies between random completions);
    ``flat_for_a``: 1 for every completion of utt_a, else the length mod 3."""

    def length3(predictions, references, **context):
        return [float(len(c) % 3) for c in context["completions"]]

    def flat_for_a(predictions, references, utts=None, **context):
        return [
            1.0 if u == "utt_a" else float(len(c) % 3) for u, c in zip(utts, context["completions"])
        ]

    scratch_reward("length3", length3, needs=("completions",))
    scratch_reward("flat_for_a", flat_for_a, needs=("completions",))


def config(**overrides) -> GRPOConfig:
    options = dict(
        task="emo",
        format="answer",
        rewards={"length3": 1.0},
        num_generations=4,
        prompts_per_step=2,
        max_completion_length=6,
        beta=0.04,
        learning_rate=1e-2,
        max_steps=1,
        save_steps=1,
    )
    return GRPOConfig(**{**options, **overrides})


def trainer_of(lm, dataset, cfg, exp_dir, resume=False) -> GRPOTrainer:
    return GRPOTrainer(
        lm, dataset, cfg, RunSettings(Path(exp_dir), seed=1, resume=resume, label_set=LABELS)
    )


def params(lm) -> dict[str, torch.Tensor]:
    model = lm.peft if lm.peft is not None else lm.model
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_group_sampling_encodes_each_clip_once(make_lm, dataset, length_reward, tmp_path):
    lm = make_lm()
    rows = []
    hook = lm.model.model.audio_tower.conv1.register_forward_hook(
        lambda module, args, out: rows.append(args[0].shape[0])
    )
    cfg = config(num_iterations=2, gradient_accumulation_steps=2)  # 1 reference + 2 policy passes
    trainer_of(lm, dataset, cfg, tmp_path).train()
    hook.remove()
    assert rows == [
        2
    ]  # one batched pass over the step's 2 clips, for 4 x 2 completions and 3 passes
    prompts = dataset.prompts(lm, ["utt_a", "utt_c"])
    with torch.no_grad():
        expected = lm.encode_audio(prompts)
        for got, want in zip(project(lm, tower_states(lm, prompts)), expected):
            torch.testing.assert_close(got, want)


def test_zero_advantage_groups_are_skipped_and_the_gradient_is_unchanged(
    make_lm, dataset, length_reward, tmp_path, monkeypatch
):
    lm = make_lm()
    cfg = config(rewards={"flat_for_a": 1.0}, beta=0.0)
    trainer = trainer_of(lm, dataset, cfg, tmp_path)
    seen, grads, captured = [], [], {}
    logprobs, generate = lm.logprobs, lm.generate

    def counting_logprobs(prompts, ids, *args, **kwargs):
        seen.append([p.utt for p in prompts])
        return logprobs(prompts, ids, *args, **kwargs)

    def keep_generation(*args, **kwargs):
        captured["out"] = generate(*args, **kwargs)
        return captured["out"]

    advantages = grpo_trainer.grpo.group_advantages

    def keep_advantages(*args, **kwargs):
        captured["advantages"] = advantages(*args, **kwargs)
        return captured["advantages"]

    monkeypatch.setattr(lm, "logprobs", counting_logprobs)
    monkeypatch.setattr(lm, "generate", keep_generation)
    monkeypatch.setattr(grpo_trainer.grpo, "group_advantages", keep_advantages)
    monkeypatch.setattr(
        trainer.optimizer, "step", lambda: grads.append([p.grad.clone() for p in trainer.params])
    )
    utts = grpo_trainer.step_utts(dataset.utts, 1, 2, seed=1)
    assert "utt_a" in utts  # seed 1 puts utt_a in the first step
    row = trainer.step(1)
    assert row["zero_adv_frac"] == 0.5
    assert seen == [[u for u in utts if u != "utt_a"]]  # utt_a's group never ran forward
    assert (captured["advantages"][utts.index("utt_a")] == 0).all()

    # the full batch's loss (zero-advantage group included) has the same gradient
    trainer.optimizer.zero_grad()
    out = captured["out"]
    prompts = dataset.prompts(lm, utts)
    logp = logprobs(prompts, out.ids, out.mask, 4, audio=project(lm, tower_states(lm, prompts)))
    loss, _ = grpo_trainer.grpo.clipped_policy_loss(
        logp, captured["advantages"].view(-1), mask=out.mask, beta=0.0
    )
    loss.backward()
    for got, p in zip(grads[0], trainer.params):
        torch.testing.assert_close(got, p.grad, rtol=1e-5, atol=1e-7)


def test_no_update_when_every_group_is_flat(make_lm, dataset, scratch_reward, tmp_path):
    scratch_reward("one", lambda predictions, references, **context: [1.0] * len(predictions))
    lm = make_lm()
    before = params(lm)
    rows = trainer_of(lm, dataset, config(rewards={"one": 1.0}), tmp_path).train()
    assert rows[0]["zero_adv_frac"] == 1.0 and rows[0]["reward_std"] == 0.0
    assert all(torch.equal(before[n], p) for n, p in params(lm).items())


@pytest.mark.parametrize("lora", [False, True])
def test_kl_is_zero_while_policy_equals_reference(make_lm, dataset, length_reward, tmp_path, lora):
    lm = make_lm(lora=lora)
    rows = trainer_of(lm, dataset, config(max_steps=2), tmp_path).train()
    assert rows[0]["kl"] == 0.0  # step 1: the policy is the reference (LoRA: B = 0)
    assert rows[1]["kl"] > 1e-6  # after one update it is not


def test_clipping_changes_the_update_only_with_several_iterations(
    make_lm, dataset, length_reward, tmp_path
):
    def trained(num_iterations, epsilon):
        lm = make_lm()
        cfg = config(num_iterations=num_iterations, epsilon=epsilon, beta=0.0)
        row = trainer_of(lm, dataset, cfg, tmp_path / f"{num_iterations}_{epsilon}").train()[0]
        return params(lm), row

    one_tight, row = trained(1, 1e-4)
    one_loose, _ = trained(1, 10.0)
    assert row["clip_fraction"] == 0.0
    assert all(torch.equal(one_tight[n], one_loose[n]) for n in one_tight)
    two_tight, row = trained(2, 1e-4)
    two_loose, _ = trained(2, 10.0)
    assert row["clip_fraction"] > 0.0  # the second iteration clips
    assert any(not torch.equal(two_tight[n], two_loose[n]) for n in two_tight)


def test_three_steps_change_parameters_and_write_logs(make_lm, dataset, length_reward, tmp_path):
    lm = make_lm()
    before = params(lm)
    cfg = config(
        rewards={"length3": 1.0, "accuracy": 0.5, "format": {"weight": 0.5, "format": "answer"}},
        max_steps=3,
        save_steps=2,
    )
    trainer_of(lm, dataset, cfg, tmp_path).train()
    changed = [n for n, p in params(lm).items() if not torch.equal(before[n], p)]
    assert any("language_model" in n for n in changed) and any("projector" in n for n in changed)
    assert not any("audio_tower" in n for n in changed)  # frozen
    with open(tmp_path / "train_log.csv") as f:
        log = list(csv.DictReader(f))
    assert [r["step"] for r in log] == ["1", "2", "3"]
    for column in (
        "reward", "reward_std", "reward_length3", "reward_accuracy", "reward_format", "kl",
        "clip_fraction", "completion_length", "format_valid", "accuracy", "zero_adv_frac",
        "time_generate", "time_score", "time_update",
    ):  # fmt: skip
        assert column in log[0]
    assert float(log[0]["completion_length"]) <= 6
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("*.pt")) == [
        "step00000002.pt",
        "step00000003.pt",
    ]


@pytest.mark.parametrize("lora", [False, True])
def test_resume_after_step_2_equals_an_uninterrupted_run(
    make_lm, dataset, length_reward, tmp_path, monkeypatch, lora
):
    cfg = config(max_steps=3, num_iterations=2)
    whole = make_lm(lora=lora)
    whole_rows = trainer_of(whole, dataset, cfg, tmp_path / "whole").train()

    first = make_lm(lora=lora)
    trainer = trainer_of(first, dataset, cfg, tmp_path / "split")
    step = trainer.step

    def interrupted(n):
        if n == 3:
            raise KeyboardInterrupt
        return step(n)

    monkeypatch.setattr(trainer, "step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    torch.manual_seed(1234)  # the restored RNG state must not depend on what ran in between
    resumed = make_lm(lora=lora)
    rows = trainer_of(resumed, dataset, cfg, tmp_path / "split", resume=True).train()
    assert [r["step"] for r in rows] == [3]
    assert rows[0]["reward"] == whole_rows[2]["reward"] and rows[0]["kl"] == whole_rows[2]["kl"]
    expected = params(whole)
    assert all(torch.equal(expected[n], p) for n, p in params(resumed).items())
    with open(tmp_path / "split" / "train_log.csv") as f:
        assert [r["step"] for r in csv.DictReader(f)] == ["1", "2", "3"]


def test_other_options_start_afresh(make_lm, dataset, length_reward, tmp_path):
    trainer_of(make_lm(), dataset, config(max_steps=2), tmp_path).train()
    rows = trainer_of(
        make_lm(), dataset, config(max_steps=2, learning_rate=1e-3), tmp_path, resume=True
    ).train()
    assert [r["step"] for r in rows] == [1, 2]


def test_nan_reward_stops_naming_reward_and_utterance(make_lm, dataset, scratch_reward, tmp_path):
    def nan_for_b(predictions, references, utts=None, **context):
        return [float("nan") if u == "utt_b" else 0.0 for u in utts]

    scratch_reward("nan_for_b", nan_for_b)
    cfg = config(rewards={"nan_for_b": 1.0}, prompts_per_step=4)
    with pytest.raises(RewardError, match="reward 'nan_for_b' is nan for utterance utt_b"):
        trainer_of(make_lm(), dataset, cfg, tmp_path).train()


def test_label_outside_the_similarity_table_stops_naming_it(make_lm, tmp_path):
    labels = ["angry", "bored"]
    data = PromptDataset(
        {"u1": "angry", "u2": "bored"},
        lambda utt: synth_wave(1.0),
        instruction("emo", "answer", labels),
    )
    settings = RunSettings(tmp_path, label_set=labels)
    with pytest.raises(RewardError, match="'bored'"):
        GRPOTrainer(make_lm(), data, config(rewards={"eswr": 1.0}), settings).train()


@pytest.mark.parametrize("loss_type", ["sequence", "token"])
def test_gradient_accumulation_gives_the_same_gradient(
    make_lm, dataset, length_reward, tmp_path, monkeypatch, loss_type
):
    def gradient(accumulation):
        lm = make_lm()
        cfg = config(gradient_accumulation_steps=accumulation, loss_type=loss_type)
        trainer = trainer_of(lm, dataset, cfg, tmp_path / str(accumulation))
        grads = []
        monkeypatch.setattr(
            trainer.optimizer,
            "step",
            lambda: grads.append([p.grad.clone() for p in trainer.params]),
        )
        row = trainer.step(1)
        return grads[0], row

    one, row_one = gradient(1)
    two, row_two = gradient(2)  # the step's 2 groups in 2 micro-batches
    assert row_one["zero_adv_frac"] == 0.0 and row_one["kl"] == row_two["kl"] == 0.0
    for a, b in zip(one, two):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-7)


def test_caption_task_gets_references_and_parsed_completions(make_lm, scratch_reward, tmp_path):
    seen = {}

    def record(predictions, references, utts=None, **context):
        seen.update(references=references, utts=utts, **context)
        return [float(len(c) % 3) for c in context["completions"]]

    scratch_reward("record", record)
    captions = {"u1": "She sounds calm.", "u2": "He is shouting in anger."}
    data = PromptDataset(captions, lambda utt: synth_wave(1.0), instruction("cap", "think"))
    cfg = config(task="cap", format="think", rewards={"record": 1.0}, num_generations=2)
    rows = GRPOTrainer(make_lm(), data, cfg, RunSettings(tmp_path)).train()
    assert seen["references"] == [captions[u] for u in seen["utts"]]
    assert seen["utts"] == sorted(seen["utts"]) and len(seen["utts"]) == 4  # 2 prompts x 2
    assert len(seen["parsed"]) == 4 and all(p.format_valid is False for p in seen["parsed"])
    assert seen["step"] == 1 and seen["total_steps"] == 1 and "label_set" not in seen
    assert "accuracy" not in rows[0] and rows[0]["format_valid"] == 0.0


def test_caption_rewards_get_the_labels_and_the_log_the_answer_statistics(
    make_lm, scratch_reward, tmp_path
):
    seen = {}

    def by_label(predictions, references, labels=None, utts=None, **context):
        seen.update(labels=labels, utts=utts)
        return [float(len(c) % 3) for c in context["completions"]]

    scratch_reward("by_label", by_label, needs=("labels",))
    captions = {"u1": "She sounds calm.", "u2": "He is shouting in anger."}
    labels = {"u1": "neutral", "u2": "angry"}
    data = PromptDataset(
        captions, lambda utt: synth_wave(1.0), instruction("cap", "answer"), labels=labels
    )
    cfg = config(task="cap", format="answer", rewards={"by_label": 1.0}, num_generations=2)
    rows = GRPOTrainer(make_lm(), data, cfg, RunSettings(tmp_path)).train()
    assert seen["labels"] == [labels[u] for u in seen["utts"]]
    assert set(rows[0]) >= {"answer_words", "distinct2"}
    trainer = type("T", (), {"config": cfg, "caption_language": "en"})()
    stats = grpo_trainer.GRPOTrainer._answer_stats(trainer, ["a b c", "a b c", "", "x y"])
    assert stats == {"answer_words": 2.0, "distinct2": 3 / 5}  # bigrams ab bc ab bc xy

    unlabeled = PromptDataset(captions, lambda utt: synth_wave(1.0), "x", source="data/train")
    with pytest.raises(ValueError, match=r"data/train: the rewards need .*utt2emo.*missing for 2"):
        GRPOTrainer(make_lm(), unlabeled, cfg, RunSettings(tmp_path / "b"))


def test_open_vocabulary_log_counts_the_answer_words():
    cfg = config(task="ov", format="answer", rewards={"format": 1.0})
    trainer = type("T", (), {"config": cfg, "caption_language": None})()
    stats = grpo_trainer.GRPOTrainer._answer_stats(
        trainer, ["happy, joyful", "sad", "", "sad, sad"]
    )
    assert stats == {"answer_words": 1.0}  # 2 + 1 + 0 + 1 (duplicates count once)


def test_kl_without_lora_needs_a_frozen_reference(make_lm, dataset, length_reward, tmp_path):
    from emorl.lalm.errors import LalmError

    with pytest.raises(LalmError, match="freeze_reference"):
        trainer_of(make_lm(freeze=False), dataset, config(beta=0.04), tmp_path)
    trainer_of(make_lm(freeze=False), dataset, config(beta=0.0), tmp_path)  # no reference needed


def test_format_reward_checks_the_run_format_unless_told():
    assert config(format="esr", rewards={"format": 0.5}).rewards == {
        "format": {"weight": 0.5, "format": "esr"}
    }
    assert config(format="think", rewards="accuracy=1,format=0.5").rewards == {
        "accuracy": {"weight": 1.0},
        "format": {"weight": 0.5, "format": "think"},
    }
    given = config(format="esr", rewards="{format: {weight: 1, format: answer}}").rewards
    assert given == {"format": {"weight": 1.0, "format": "answer"}}
