"""GRPO for audio-language models (stage 6): EMO-RL, MECap-R1 and AffectGPT-RL share this trainer.

One step, on ``prompts_per_step`` utterances of the training set (a seeded permutation per epoch):

1. **generate**: the audio tower runs once per clip (:func:`tower_states`, no gradient: the tower
   is frozen), the projector maps its output to audio tokens, and
   :meth:`emorl.lalm.model.AudioLM.generate` samples ``num_generations`` completions per prompt in
   one batch with a KV cache (``temperature``, ``top_p``, ``max_completion_length``; the sampling
   generator is seeded by the seed and the step);
2. **score**: every completion is parsed once (:func:`emorl.lalm.prompts.parse_completion` in the
   run's output ``format``); the registry's rewards (:func:`emorl.rl.rewards.build_rewards`, a
   ``rewards:`` mapping of weights and options; the ``format`` reward checks the run's format
   unless its options name one) get the answers as predictions and the context
   ``utts``, ``completions``, ``parsed``, ``step``, ``total_steps`` (and ``label_set`` for emo);
   advantages per group (:func:`emorl.rl.grpo.group_advantages`, ``scale_rewards``);
3. **update**: ``num_iterations`` optimiser steps on this generation batch; each pass computes the
   policy's log-probabilities with the audio (the projector reapplied to the cached tower output,
   so it is trained), the loss of :func:`emorl.rl.grpo.clipped_policy_loss` (``epsilon``, ``beta``
   with the k3 KL to the reference, ``loss_type``), split over ``gradient_accumulation_steps``
   micro-batches of groups. The first iteration's log-probabilities are the "old" ones of the later
   iterations (the parameters are those that generated), so clipping acts only from the second.

A group whose rewards are all equal has zero advantage: it is counted (``zero_adv_frac``) and left
out of every forward and backward pass. The loss is still normalised by the whole batch (all
completions, or all their tokens), so with ``beta == 0`` the gradient is exactly the one of the full
batch; with ``beta > 0`` the skipped groups' KL term is dropped for that step. When every group is
skipped the optimiser does not step.

The reference of the KL term is the adapter-disabled model with LoRA (no second copy), else a frozen
copy of the initial model (:meth:`AudioLM.freeze_reference`); with ``beta == 0`` it is never run.
The model is kept in eval mode (no dropout), so the ratio and the KL of the first pass are exact.

Per step, ``train_log.csv`` and TensorBoard (:class:`emorl.train.StepLogger`) get the total reward's
mean and std, each reward's mean (``reward_<name>``, unweighted), ``kl``, ``clip_fraction``,
``loss``, ``grad_norm``, ``completion_length`` (tokens, EOS included), ``clipped_ratio`` (no EOS
within ``max_completion_length``), ``format_valid``, ``accuracy`` (emo), ``answer_words`` (cap, ov)
and ``distinct2`` (cap) of the answers, ``zero_adv_frac`` and the
seconds of the step split into ``time_generate`` (audio reading, log-mel, encoding and sampling),
``time_score`` and ``time_update``.
Checkpoints (:class:`emorl.train.CheckpointManager`, adapter-only with LoRA) every ``save_steps``
steps and at the end; a resumed run continues bit-exactly (the data order and the sampling depend
only on the seed and the step; optimiser state and RNG states are restored).

Compared with TRL's ``GRPOTrainer`` (whose option names are kept: ``num_generations``,
``max_completion_length``, ``temperature``, ``top_p``, ``beta``, ``epsilon``, ``num_iterations``,
``loss_type``, ``scale_rewards``, ``learning_rate``, ``gradient_accumulation_steps``,
``max_grad_norm``, ``max_steps``, ``save_steps``):

- the audio reaches every log-probability pass (policy, old and reference); TRL 1.16 computes its
  loss without the audio features;
- each clip is encoded once per step, at its true length; TRL's processor pads every clip to 30 s
  and the model re-encodes it in every forward;
- the prompt runs once per group in every log-probability pass (its KV cache repeated for the
  ``G`` completions, :meth:`AudioLM.logprobs`); TRL runs it once per completion;
- zero-advantage groups are skipped (TRL computes them, and applies their KL term);
- ``loss_type`` is ``sequence`` (TRL's ``grpo``) or ``token`` (TRL's ``dapo``/``bnpo``: all the
  batch's tokens); ``scale_rewards`` is ``group``, ``batch`` or ``none`` as in TRL;
- ``prompts_per_step`` prompts make one generation batch (TRL: ``generation_batch_size /
  num_generations``), and ``gradient_accumulation_steps`` splits it into micro-batches for the
  backward passes of one optimiser step.

Data parallel (several processes started by ``torchrun``, :class:`emorl.train.Distributed`): the
step's prompts are dealt out to the processes (prompt ``i`` to rank ``i % world_size``); each
generates, scores and runs the forward and backward passes of its own groups. The rewards of the
whole step are gathered on every process (a few numbers per completion), so that the advantages,
``scale_rewards: batch`` included, and the log row are those of one process; the loss keeps the
whole step's normalisation (all its completions, or the token count summed over the processes),
and the gradients are summed by an all-reduce before clipping, so every process takes the same
optimiser step. Sampling uses one generator per process, seeded by the seed, the step and the rank
(the seed and the step alone with one process): a run is reproducible for a given number of
processes, but two processes sample other completions than one. Only rank 0 logs and saves.

DeepSpeed ZeRO-3 (``RunSettings.deepspeed``: a JSON file, :mod:`emorl.train.zero`): the projector
and the text model (LoRA adapters included) are sharded over the processes. Every process then
makes the same module calls: the projector maps a process's audio in one call, sampling runs until
every process's completions have ended, and a process with fewer micro-batches of active groups
than another runs zero-weighted stand-in passes. DeepSpeed reduces the gradients, clips them and
steps; each checkpoint adds every process's shards.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml

from emorl.data.audio import load_utterance
from emorl.lalm import audio as audio_lib
from emorl.lalm.data import load_task_data, references
from emorl.lalm.model import AudioLM, Prompt
from emorl.lalm.prompts import FORMATS, TASKS, answer_label, answer_words, parse_completion
from emorl.metrics.caption import detect_language, distinct_n, tokenize
from emorl.rl import grpo
from emorl.rl.rewards import build_rewards, parse_reward_spec
from emorl.train import CheckpointManager, Distributed, StepLogger
from emorl.train.zero import ZeroEngine, restore_checkpoint, run_pass, save_checkpoint

SCALE_REWARDS = ("group", "batch", "none")
LOSS_TYPES = grpo.AVERAGES


@dataclass
class GRPOConfig:
    """The options of a GRPO run (the keys of ``conf/grpo/*.yaml``; see the module docstring)."""

    task: str = "emo"
    format: str = "esr"
    rewards: dict | str = field(default_factory=lambda: {"accuracy": 1.0})
    num_generations: int = 4
    prompts_per_step: int = 2
    max_completion_length: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    beta: float = 0.04
    epsilon: float = 0.2
    num_iterations: int = 1
    loss_type: str = "sequence"
    scale_rewards: str = "group"
    std_eps: float = 1e-4
    learning_rate: float = 1e-5
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    gradient_accumulation_steps: int = 1
    max_steps: int = 100
    save_steps: int = 50

    def __post_init__(self):
        if self.task not in TASKS or self.format not in FORMATS:
            raise ValueError(f"task must be one of {TASKS} and format one of {FORMATS}")
        if self.num_generations < 2:
            raise ValueError("num_generations must be at least 2 (a group of 1 has no baseline)")
        for name in (
            "prompts_per_step",
            "max_completion_length",
            "num_iterations",
            "gradient_accumulation_steps",
            "max_steps",
            "save_steps",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.loss_type not in LOSS_TYPES:
            raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {self.loss_type!r}")
        if self.scale_rewards not in SCALE_REWARDS:
            raise ValueError(
                f"scale_rewards must be one of {SCALE_REWARDS}: {self.scale_rewards!r}"
            )
        if self.beta < 0 or self.epsilon <= 0 or self.temperature <= 0:
            raise ValueError("beta must be >= 0, epsilon and temperature > 0")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        self.rewards = parse_reward_spec(with_format_option(self.rewards, self.format))


def with_format_option(spec: dict | str, fmt: str) -> dict | str:
    """The reward spec with the ``format`` reward checking the run's output format unless it
    names one (``rewards: {format: 0.5}`` in a config shared by the three formats)."""
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("{"):
            spec = yaml.safe_load(text)
        elif "format=" not in text:
            return spec
        else:  # name=weight,...: the registry's command-line form
            spec = dict(part.split("=", 1) for part in text.split(",") if part.strip())
            spec = {name.strip(): float(weight) for name, weight in spec.items()}
    if not isinstance(spec, dict) or "format" not in spec:
        return spec
    spec = dict(spec)
    value = spec["format"]
    options = dict(value) if isinstance(value, dict) else {"weight": value}
    options.setdefault("format", fmt)
    spec["format"] = options
    return spec


class PromptDataset:
    """Training utterances with their references, turned into prompts on demand.

    ``references``: utt -> the emo label, the reference caption, or the list of emotion words;
    ``load_wave(utt)``: the 16-kHz waveform; ``text``: the instruction (SFT's, from the model
    dir's ``task.json``, so that GRPO prompts as SFT did); ``labels``: utt -> emotion label (the
    data dir's ``utt2emo``, if it has one: the context ``labels`` of rewards such as ``emo_grpo``);
    ``source``: where the utterances come from, named in errors. A data dir gives one through
    :meth:`from_data_dir`.
    """

    def __init__(
        self,
        references: dict[str, str | list[str]],
        load_wave: Callable[[str], np.ndarray],
        text: str,
        labels: dict[str, str] | None = None,
        source: str = "the training set",
    ):
        if not references:
            raise ValueError("no training utterances")
        self.utts = sorted(references)
        self.references = references
        self.load_wave = load_wave
        self.text = text
        self.labels = labels
        self.source = source

    @classmethod
    def from_data_dir(
        cls,
        path: str | os.PathLike,
        task: str,
        text: str,
        label_set: Sequence[str] | None = None,
    ) -> PromptDataset:
        """The utterances of a data dir (checked for ``task``'s tables; emo labels against
        ``label_set``) with their references, prompted with the instruction ``text``."""
        data = load_task_data(path, task, label_set=label_set if task == "emo" else None)
        labels = dict(data.utt2emo) if data.utt2emo else None
        return cls(
            references(data, task),
            functools.partial(load_utterance, data),
            text,
            labels=labels,
            source=str(path),
        )

    def __len__(self) -> int:
        return len(self.utts)

    def prompts(self, lm: AudioLM, utts: Sequence[str]) -> list[Prompt]:
        return [lm.prepare(utt, self.load_wave(utt), self.text) for utt in utts]


def step_utts(utts: Sequence[str], step: int, per_step: int, seed: int) -> list[str]:
    """The utterances of ``step`` (from 1): consecutive slices of one seeded permutation per epoch,
    so that the order depends only on the seed and the step."""
    out = []
    for position in range((step - 1) * per_step, step * per_step):
        epoch, index = divmod(position, len(utts))
        order = np.random.default_rng([seed, epoch]).permutation(len(utts))
        out.append(utts[order[index]])
    return out


def _in_step_order(pieces: list[tuple[list[int], dict]], group_size: int) -> dict:
    """The per-completion values of every process (``(groups, values)`` each: the step's group
    indices it had, and lists of ``group_size`` values per group, or a dict of such lists), merged
    into the step's order."""
    rank_of = {g: (r, i) for r, (groups, _) in enumerate(pieces) for i, g in enumerate(groups)}

    def merge(get) -> list:
        out = []
        for g in range(len(rank_of)):
            r, i = rank_of[g]
            out += get(pieces[r][1])[i * group_size : (i + 1) * group_size]
        return out

    merged = {}
    for key, value in pieces[0][1].items():
        if isinstance(value, dict):
            merged[key] = {k: merge(lambda v, key=key, k=k: v[key][k]) for k in value}
        else:
            merged[key] = merge(lambda v, key=key: v[key])
    return merged


def tower_states(lm: AudioLM, prompts: Sequence[Prompt]) -> list[torch.Tensor]:
    """The audio tower's output (before the projector) per prompt: one batched pass over all
    windows, without gradient (the tower is frozen)."""
    windows = [w for p in prompts for w in p.windows]
    with torch.no_grad():
        pieces = audio_lib.encode(lm.model.model.audio_tower, torch.nn.Identity(), windows)
    out, i = [], 0
    for p in prompts:
        out.append(torch.cat(pieces[i : i + len(p.windows)]))
        i += len(p.windows)
    return out


def project(
    lm: AudioLM, states: Sequence[torch.Tensor], batched: bool = False
) -> list[torch.Tensor]:
    """Audio tokens from tower states through the current model's projector (inside
    ``lm.reference()``: the reference's), once per clip, or in one call with ``batched`` (ZeRO-3:
    the same calls on every process)."""
    return audio_lib.project(lm.model.model.multi_modal_projector, states, batched)


@dataclass
class RunSettings:
    """What a run needs besides its options: where, the seed, resuming, and the input
    fingerprint that a checkpoint must match (with :class:`GRPOConfig`, the options)."""

    exp_dir: Path
    seed: int = 0
    resume: bool = False
    keep_checkpoints: int = 2
    label_set: Sequence[str] | None = None
    options: dict = field(default_factory=dict)
    fingerprint: dict = field(default_factory=dict)
    deepspeed: str | None = None  # a DeepSpeed ZeRO-3 JSON file (emorl.train.zero)


class GRPOTrainer:
    """GRPO on an :class:`AudioLM` (see the module docstring). With ``beta > 0`` and no LoRA,
    call ``lm.freeze_reference()`` on the initial weights before building the trainer."""

    def __init__(
        self,
        lm: AudioLM,
        dataset: PromptDataset,
        config: GRPOConfig,
        run: RunSettings,
        env: Distributed | None = None,
    ):
        if config.task == "emo" and not run.label_set:
            raise ValueError("task emo needs the label set")
        self.env = env or Distributed(str(lm.device))
        if config.prompts_per_step < self.env.world_size:
            raise ValueError(
                f"prompts_per_step {config.prompts_per_step} < {self.env.world_size} processes: "
                "every process needs at least one prompt per step"
            )
        if config.beta > 0:
            with lm.reference():  # stops now, not after the first generation, when there is none
                pass
        self.lm = lm.eval()
        self.dataset = dataset
        self.config = config
        self.run = run
        self.label_set = list(run.label_set) if run.label_set else None
        self.rewards = build_rewards(config.rewards)
        if "labels" in self.rewards.needs:
            unlabeled = [u for u in dataset.utts if u not in (dataset.labels or {})]
            if unlabeled:
                raise ValueError(
                    f"{dataset.source}: the rewards need the emotion label of every utterance "
                    f"(utt2emo), missing for {len(unlabeled)} (e.g. {unlabeled[:3]})"
                )
        self.caption_language = (
            detect_language(dataset.references.values()) if config.task == "cap" else None
        )
        lm.freeze_audio_tower()  # its output is then computed once per clip and step
        self.params = lm.parameters()
        self.optimizer = torch.optim.AdamW(
            self.params, lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.trained = {"model": lm.peft if lm.peft is not None else lm.model}
        # the replicas start equal (a LoRA adapter is initialised from each process's generator)
        self.env.broadcast_parameters(self.trained["model"])
        self.zero = None
        if run.deepspeed:
            self.zero = ZeroEngine(
                run.deepspeed,
                lm.sharded_parts(),
                self.optimizer,
                self.env.world_size,
                micro_batch_per_process=math.ceil(config.prompts_per_step / self.env.world_size),
                grad_accum=config.gradient_accumulation_steps,
                max_grad_norm=config.max_grad_norm,
                bf16=lm.dtype_name == "bfloat16",
                hidden_size=lm.model.config.text_config.hidden_size,
            )

    # ------------------------------------------------------------------ one step
    def step(self, step: int) -> dict:
        """Generate, score and update on the prompts of ``step`` (with several processes, this
        process's share of them); the step's log row (over all processes)."""
        c, lm, G, env = self.config, self.lm, self.config.num_generations, self.env
        t0 = time.perf_counter()
        step_utts_all = step_utts(self.dataset.utts, step, c.prompts_per_step, self.run.seed)
        groups = list(range(env.rank, len(step_utts_all), env.world_size))
        utts = [step_utts_all[g] for g in groups]
        prompts = self.dataset.prompts(lm, utts)
        states = tower_states(lm, prompts)
        out = self.generate(prompts, states, step)
        t1 = time.perf_counter()

        row_utts = [u for u in utts for _ in range(G)]
        references = [self.dataset.references[u] for u in row_utts]
        parsed = [parse_completion(text, c.format) for text in out.texts]
        predictions = [p.answer or "" for p in parsed]
        context = {
            "completions": out.texts,
            "parsed": parsed,
            "step": step,
            "total_steps": c.max_steps,
        }
        if self.label_set is not None:
            context["label_set"] = self.label_set
        if "labels" in self.rewards.needs:
            context["labels"] = [self.dataset.labels[u] for u in row_utts]
        total, parts = self.rewards(predictions, references, utts=row_utts, **context)
        local = {
            "total": total.tolist(),
            "parts": {name: v.tolist() for name, v in parts.items()},
            "length": out.mask.sum(1).tolist(),
            "clipped": (~out.finished).tolist(),
            "format_valid": [p.format_valid for p in parsed],
            "prediction": predictions,
        }
        if c.task == "emo":
            local["hit"] = [
                answer_label(p, self.label_set) == r for p, r in zip(predictions, references)
            ]
        every = _in_step_order(env.gather((groups, local)), G)  # the whole step's completions
        rewards = torch.tensor(every["total"], dtype=torch.float64).view(-1, G)
        std_level = None if c.scale_rewards == "none" else c.scale_rewards
        advantages = grpo.group_advantages(rewards, "group", std_level, c.std_eps)
        zero = (rewards.max(1).values == rewards.min(1).values).tolist()
        t2 = time.perf_counter()

        active = [i for i, g in enumerate(groups) if not zero[g]]
        stats = self._update(
            prompts, states, out.ids, out.mask, advantages[groups].view(-1), active, len(zero)
        )
        t3 = time.perf_counter()

        total = np.array(every["total"])
        row = {"step": step, "reward": float(total.mean()), "reward_std": float(total.std())}
        row.update({f"reward_{name}": float(np.mean(v)) for name, v in every["parts"].items()})
        row.update(stats)
        row["completion_length"] = float(np.mean(every["length"]))
        row["clipped_ratio"] = float(np.mean(every["clipped"]))
        row["format_valid"] = float(np.mean(every["format_valid"]))
        if c.task == "emo":
            row["accuracy"] = float(np.mean(every["hit"]))
        row.update(self._answer_stats(every["prediction"]))
        row["zero_adv_frac"] = sum(zero) / len(zero)
        row.update(time_generate=t1 - t0, time_score=t2 - t1, time_update=t3 - t2)
        row["time_step"] = t3 - t0
        return row

    def generate(self, prompts: Sequence[Prompt], states: Sequence[torch.Tensor], step: int):
        """``num_generations`` sampled completions per prompt (a
        :class:`~emorl.lalm.model.Generation`), from a generator seeded by the seed, the step and
        the process's rank."""
        c, env, synced = self.config, self.env, self.zero is not None
        seed = (self.run.seed * 1_000_003 + step) * env.world_size + env.rank
        generator = torch.Generator(device=self.lm.device).manual_seed(seed)

        def sample():
            return self.lm.generate(
                prompts,
                group_size=c.num_generations,
                max_new_tokens=c.max_completion_length,
                temperature=c.temperature,
                top_p=c.top_p,
                audio=project(self.lm, states, batched=synced),
                generator=generator,
                all_done=env.all_done if synced else None,
            )

        with torch.no_grad():
            return run_pass(self.zero, sample)

    def _answer_stats(self, answers: list[str]) -> dict:
        """Signs of reward hacking in the step's answers: ``answer_words``, their mean number of
        words (cap: caption tokens; ov: emotion words), and for cap ``distinct2`` (distinct
        bigrams over all bigrams of the step's captions: a collapse of diversity shows there)."""
        if self.config.task == "cap":
            tokens = [tokenize(a, self.caption_language) for a in answers]
            return {
                "answer_words": float(np.mean([len(t) for t in tokens])),
                "distinct2": distinct_n(tokens, 2),
            }
        if self.config.task == "ov":
            return {"answer_words": float(np.mean([len(answer_words(a)) for a in answers]))}
        return {}

    def _update(
        self, prompts, states, ids, mask, advantages, active: list[int], num_groups: int
    ) -> dict:
        """``num_iterations`` optimiser steps on this process's groups ``active`` (indices into
        ``prompts``); ``num_groups``: the groups of the whole step (see the module doc)."""
        c, lm, G, env = self.config, self.lm, self.config.num_generations, self.env
        stats = {"loss": math.nan, "grad_norm": math.nan, "kl": math.nan, "clip_fraction": math.nan}
        if not env.sum([len(active)])[0]:  # every process agrees: no group to learn from
            return stats
        mask = mask.to(lm.device)
        advantages = advantages.to(lm.device)
        # the normalisation of the whole step: all its completions, or all their tokens
        num_rows, num_tokens = num_groups * G, env.sum([float(mask.sum())])[0]
        sections = min(c.gradient_accumulation_steps, len(active))
        chunks = (
            [[int(g) for g in chunk] for chunk in np.array_split(active, sections)]
            if active
            else []
        )
        stand_in = [False] * len(chunks)
        if self.zero is not None:  # as many passes as the busiest process: stand-ins, weight 0
            missing = max(env.gather(len(chunks))) - len(chunks)
            chunks, stand_in = chunks + [[0]] * missing, stand_in + [True] * missing

        def batch_of(chunk):
            rows = torch.tensor([g * G + k for g in chunk for k in range(G)], device=lm.device)
            return [prompts[g] for g in chunk], [states[g] for g in chunk], ids[rows.cpu()], rows

        def logprobs(chunk):
            ps, ss, cids, rows = batch_of(chunk)
            audio = project(lm, ss, batched=self.zero is not None)
            return lm.logprobs(ps, cids, mask[rows], G, audio=audio)

        ref = [None] * len(chunks)
        if c.beta > 0:
            with torch.no_grad(), lm.reference():
                for i, chunk in enumerate(chunks):
                    ref[i] = run_pass(self.zero, logprobs, chunk)
        old = [None] * len(chunks)
        sums = {"loss": 0.0, "kl": 0.0, "clip_fraction": 0.0}
        weight_total = 0.0
        for iteration in range(c.num_iterations):
            if self.zero is None:  # DeepSpeed zeroes its gradients in its step
                self.optimizer.zero_grad(set_to_none=True)
            for i, chunk in enumerate(chunks):
                rows = batch_of(chunk)[3]
                logp = run_pass(self.zero, logprobs, chunk)
                if iteration == 0 and c.num_iterations > 1:
                    old[i] = logp.detach()
                loss, part = grpo.clipped_policy_loss(
                    logp,
                    advantages[rows],
                    old_logp=old[i] if iteration > 0 else None,
                    mask=mask[rows],
                    clip_eps=c.epsilon,
                    ref_logp=ref[i],
                    beta=c.beta,
                    average=c.loss_type,
                )
                # weights over the whole batch: skipped groups count in the normalisation
                tokens = mask[rows].sum()
                share = len(rows) / num_rows if c.loss_type == "sequence" else tokens / num_tokens
                if stand_in[i]:  # ZeRO-3: the other processes' passes, without gradient
                    self.zero.backward(loss * 0.0)
                    continue
                if self.zero is not None:
                    self.zero.backward(loss * share)
                else:
                    (loss * share).backward()
                w = float(tokens)
                weight_total += w
                sums["loss"] += float(loss.detach()) * w
                sums["clip_fraction"] += float(part["clip_fraction"]) * w
                if "kl" in part:
                    sums["kl"] += float(part["kl"]) * w
            # An explicit all-reduce of the trainable parameters' gradients, not
            # DistributedDataParallel: the loss is not one module(x) call (AudioLM.logprobs runs
            # the projector, the text model and the head separately, and the reference pass runs
            # the same modules without gradient), and a process may have no active group at all.
            if self.zero is not None:
                norm = self.zero.step()
                continue
            env.all_reduce_grads(self.params)
            norm = torch.nn.utils.clip_grad_norm_(
                self.params, c.max_grad_norm if c.max_grad_norm > 0 else math.inf
            )
            self.optimizer.step()
        keys = sorted(sums)
        *totals, weight_total = env.sum([sums[k] for k in keys] + [weight_total])
        stats.update({k: v / weight_total for k, v in zip(keys, totals)})
        if c.beta == 0:
            stats["kl"] = math.nan
        stats["grad_norm"] = float(norm)
        return stats

    # ------------------------------------------------------------------ the run
    def gathered(self):
        """A context in which the whole model is on every process (ZeRO-3: its shards gathered),
        to save it."""
        return self.zero.gathered() if self.zero is not None else contextlib.nullcontext()

    def train(self) -> list[dict]:
        """Run (or resume) up to ``max_steps``; the log rows of the steps run here."""
        c, run = self.config, self.run
        options = {"grpo": asdict(c), "label_set": self.label_set, "seed": run.seed, **run.options}
        fingerprint = dict(run.fingerprint)
        objects = {**self.trained, "optimizer": self.optimizer}
        if self.zero is not None:  # the model and optimiser state are DeepSpeed's shards
            fingerprint["deepspeed"], objects = self.zero.config, {}
        manager = CheckpointManager(run.exp_dir, options, fingerprint, run.keep_checkpoints)
        saved = manager.resume(run.resume, clear=False)
        start = 1
        if saved is not None:
            restore_checkpoint(saved, objects, self.zero, manager)
            start = saved.step + 1
        env = self.env
        env.barrier()  # every process has read the checkpoint before rank 0 may remove it
        if saved is None and env.is_main:
            manager.clear()
        rows = []
        log = None
        if env.is_main:
            log = StepLogger(run.exp_dir, resume_after=None if saved is None else saved.step)
        with log if log is not None else contextlib.nullcontext():
            for step in range(start, c.max_steps + 1):
                row = self.step(step)
                rows.append(row)
                if env.is_main:
                    log.log(row)
                    logging.info(
                        "step %d/%d: reward %.3f (std %.3f), kl %.4g, zero-adv groups %.2f, %.1f s",
                        step,
                        c.max_steps,
                        row["reward"],
                        row["reward_std"],
                        row["kl"],
                        row["zero_adv_frac"],
                        row["time_step"],
                    )
                if step % c.save_steps == 0 or step == c.max_steps:
                    save_checkpoint(manager, objects, env, self.zero, step=step)
        env.barrier()  # the checkpoints are complete before any process returns
        return rows
