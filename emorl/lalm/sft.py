"""Cold-start SFT of an audio-LM (stage 5 of emo.sh, stage 3 of lalm.sh).

Teacher-forced cross-entropy on the target tokens only: the loss is the negative log-probability
of each target completion (its tokens and the closing EOS) given the audio and the prompt, summed
over the target tokens of a batch and divided by their number; prompt and audio positions never
enter it. AdamW with linear warmup and decay, gradient accumulation and clipping.

Which parameters train (``trainable``): ``projector,text`` trains the audio projector and the whole
text model (the ``mini`` kind, whose text model starts from random weights); ``projector,lora``
trains the projector and LoRA adapters of the text model (``mini_smollm2`` and ``real``); add
``audio`` to train the audio tower too (frozen by default).

For the ``mini`` kind the tokenizer is trained on the training set's prompt, targets and
transcripts before the model is built (the saved model dir holds it).

Every ``eval_every`` steps the dev set is scored: ``dev_loss`` (teacher-forced) and, for ``emo``,
``dev_accuracy`` (greedy decoding, the parsed answer against the label); the best step by
``select_metric`` is saved as ``<exp_dir>/model`` (with ``task.json``: task, format, label set,
prompt). Checkpoints every ``save_every`` steps (:class:`emorl.train.CheckpointManager`).
``eval_every_epochs`` and ``save_every_epochs`` count in epochs instead, so that one config fits
a corpus of any size. A resumed run restores the model, optimiser, scheduler, random generators
and the best score so far, and sees the same batches (they depend on the seed and the epoch
only), so it ends where an uninterrupted run ends. Logs: ``train_log.csv`` and TensorBoard
(:class:`emorl.train.StepLogger`).

Data parallel (several processes started by ``torchrun``, :class:`emorl.train.Distributed`):
every process builds the same batches (seed and epoch), takes its share of each micro-batch
(:meth:`Distributed.shard`), and the loss is normalised by the target tokens of the whole
micro-batch over all processes, so that the summed gradients are those of one process on the full
batch. The dev set is sharded the same way and its sums added up; only rank 0 writes checkpoints,
logs, ``model`` and ``best.json``.

DeepSpeed ZeRO-3 (``deepspeed``: a JSON file, :mod:`emorl.train.zero`): the projector and the text
model (its LoRA adapters too) are sharded over the processes instead of replicated; gradients are
reduced and clipped, and the optimiser steps, inside DeepSpeed. Each checkpoint adds every
process's shards (``checkpoints/zero/<name>/``); ``model`` is saved from the gathered weights.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import torch
from tqdm import tqdm
from transformers import get_linear_schedule_with_warmup

from emorl.atomic import atomic_write
from emorl.cli import set_seed
from emorl.data.labels import get_label_set
from emorl.lalm import audio as audio_lib
from emorl.lalm.data import MODEL_TASK_FILE, LalmDataset
from emorl.lalm.decode import decode_prompts
from emorl.lalm.model import AudioLM, Prompt
from emorl.lalm.prompts import check_task_format, instruction
from emorl.train import CheckpointManager, Distributed, StepLogger
from emorl.train.zero import ZeroEngine, restore_checkpoint, run_pass, save_checkpoint

TRAINABLE = ("projector", "text", "lora", "audio")
SELECT_METRICS = ("auto", "dev_accuracy", "dev_loss")


@dataclass
class SftConfig:
    """The options of SFT (also the keys of conf/lalm/sft_*.yaml)."""

    task: str = "emo"
    format: str = "esr"
    label_set: str | None = None  # emo: a name in emorl.data.labels or a file
    model: str = "mini"  # mini, mini_smollm2, real
    model_path: str | None = None  # real: the model dir; mini_smollm2: the converted SmolLM2 dir
    whisper_checkpoint: str | None = None  # mini kinds: default the offline Whisper tiny.en
    dtype: str = "float32"
    long_audio: str = "error"  # utterances over 30 s: split, truncate or error
    # mini: tokenizer and text model sizes
    vocab_size: int = 2000
    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    # what trains
    trainable: str = "projector,text"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    # optimisation
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 20
    num_epochs: int = 10
    max_steps: int = 0  # > 0: stop after this many optimiser steps instead
    batch_size: int = 16  # utterances per micro-batch, over all processes
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    # model selection and checkpoints
    eval_every: int = 50
    eval_every_epochs: int = 0  # > 0: every this many epochs instead of eval_every steps
    select_metric: str = "auto"  # auto: dev_accuracy for emo, dev_loss for cap and ov
    dev_max_new_tokens: int = 128
    dev_batch_size: int = 32
    save_every: int = 50
    save_every_epochs: int = 0  # > 0: every this many epochs instead of save_every steps
    keep_last: int = 2
    seed: int = 1
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    deepspeed: str | None = None  # a DeepSpeed ZeRO-3 JSON file (emorl.train.zero)

    def check(self) -> None:
        check_task_format(self.task, self.format)
        if self.task == "emo" and not self.label_set:
            raise ValueError("task emo needs label_set")
        parts = self.trainable_parts()
        unknown = set(parts) - set(TRAINABLE)
        if unknown or not parts:
            raise ValueError(f"trainable: {self.trainable!r}; choose from {TRAINABLE}")
        if "lora" in parts and "text" in parts:
            raise ValueError("trainable: 'text' (full) and 'lora' exclude each other")
        if self.select_metric not in SELECT_METRICS:
            raise ValueError(f"select_metric must be one of {SELECT_METRICS}")
        if self.deepspeed and "audio" in parts:
            raise ValueError("trainable 'audio' with deepspeed: the audio tower stays outside it")
        if self.selected_metric() == "dev_accuracy" and self.task != "emo":
            raise ValueError("select_metric dev_accuracy needs task emo; use dev_loss")
        for name in ("batch_size", "grad_accum", "eval_every", "save_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        for name in ("eval_every_epochs", "save_every_epochs"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0: count in steps)")

    def eval_and_save_steps(self, micro_per_epoch: int) -> tuple[int, int]:
        """The optimiser steps between dev scorings and between checkpoints, for an epoch of
        ``micro_per_epoch`` micro-batches: ``*_every_epochs`` epochs when set, else ``*_every``."""

        def steps(every: int, every_epochs: int) -> int:
            if not every_epochs:
                return every
            return max(1, round(every_epochs * micro_per_epoch / self.grad_accum))

        return (
            steps(self.eval_every, self.eval_every_epochs),
            steps(self.save_every, self.save_every_epochs),
        )

    def selected_metric(self) -> str:
        """The dev score that selects the best step."""
        if self.select_metric == "auto":
            return "dev_accuracy" if self.task == "emo" else "dev_loss"
        return self.select_metric

    def trainable_parts(self) -> list[str]:
        return [p.strip() for p in self.trainable.split(",") if p.strip()]

    def labels(self) -> list[str] | None:
        return list(get_label_set(self.label_set)) if self.task == "emo" else None

    def prompt_text(self) -> str:
        return instruction(self.task, self.format, self.labels())


def file_md5(path: str | os.PathLike) -> str:
    """The md5 of a file's bytes."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_model(config: SftConfig, train: LalmDataset) -> AudioLM:
    """The model to fine-tune; for ``mini`` its tokenizer is trained on the training text first."""
    if config.model == "mini":
        # The prompt once per utterance, as the model sees it: BPE then merges it into few tokens.
        texts = [config.prompt_text()] * len(train) + [train.targets[u] for u in train.utts]
        if train.data.text is not None:
            texts += [train.data.text[u] for u in train.utts]
        return AudioLM.build_mini(
            texts,
            dtype=config.dtype,
            long_audio=config.long_audio,
            whisper_checkpoint=config.whisper_checkpoint,
            vocab_size=config.vocab_size,
            seed=config.seed,
            hidden_size=config.hidden_size,
            num_hidden_layers=config.num_hidden_layers,
            num_attention_heads=config.num_attention_heads,
            num_key_value_heads=config.num_attention_heads,
            intermediate_size=config.intermediate_size,
        )
    if config.model == "mini_smollm2":
        options = {"smollm2_dir": config.model_path} if config.model_path else {}
        return AudioLM.build_mini_smollm2(
            dtype=config.dtype,
            long_audio=config.long_audio,
            whisper_checkpoint=config.whisper_checkpoint,
            seed=config.seed,
            **options,
        )
    if config.model == "real":
        if not config.model_path:
            raise ValueError("model real needs model_path (a local Qwen2-Audio directory)")
        return AudioLM.load(config.model_path, dtype=config.dtype, long_audio=config.long_audio)
    raise ValueError(f"unknown model kind {config.model!r}: mini, mini_smollm2 or real")


def set_trainable(lm: AudioLM, config: SftConfig) -> list[torch.nn.Parameter]:
    """Freeze what does not train; returns the parameters that do."""
    parts = config.trainable_parts()
    lm.model.requires_grad_(False)
    if "lora" in parts:
        lm.enable_lora(
            r=config.lora_r,
            alpha=config.lora_alpha,
            dropout=config.lora_dropout,
            target_modules=config.lora_targets,
            train_projector="projector" in parts,
        )
    inner = lm.model.model
    if "projector" in parts and "lora" not in parts:
        inner.multi_modal_projector.requires_grad_(True)
    if "text" in parts:
        inner.language_model.requires_grad_(True)
        lm.model.lm_head.requires_grad_(True)
    if "audio" in parts:
        inner.audio_tower.requires_grad_(True)
        inner.audio_tower.embed_positions.requires_grad_(False)  # Whisper's fixed sinusoids
    return [p for p in lm.model.parameters() if p.requires_grad]


class PromptCache:
    """Prompts (log-mel windows and token ids) of a dataset, computed once per utterance."""

    def __init__(self, lm: AudioLM, dataset: LalmDataset, text: str):
        self.lm, self.dataset, self.text = lm, dataset, text
        self.prompts: dict[str, Prompt] = {}

    def __call__(self, utts: list[str]) -> list[Prompt]:
        for utt in utts:
            if utt not in self.prompts:
                example = self.dataset.example(utt)
                self.prompts[utt] = self.lm.prepare(utt, example.wave, self.text)
        return [self.prompts[u] for u in utts]


class FrozenTowerCache:
    """Audio tokens from a frozen audio tower: the tower runs once per utterance for the whole
    training (its output cannot change); only the trainable projector runs at every step, once
    per prompt, or once per batch with ``batched`` (what ZeRO-3 needs: the same module calls on
    every process, whatever the number of prompts)."""

    def __init__(self, lm: AudioLM, batched: bool = False):
        self.lm = lm
        self.batched = batched
        self.hidden: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def encode(self, prompts: list[Prompt]) -> None:
        """Run the tower on the prompts not cached yet, in one batch. (Its output depends, in
        its last bits, on the utterances batched with it.)"""
        new = [p for p in prompts if p.utt not in self.hidden]
        if not new:
            return
        tower = self.lm.model.model.audio_tower
        was_training = tower.training
        tower.eval()
        windows = [w for p in new for w in p.windows]
        pieces = audio_lib.encode(tower, torch.nn.Identity(), windows)
        tower.train(was_training)
        i = 0
        for p in new:
            self.hidden[p.utt] = torch.cat(pieces[i : i + len(p.windows)])
            i += len(p.windows)

    def __call__(self, prompts: list[Prompt]) -> list[torch.Tensor]:
        """The projected audio tokens of each prompt (gradients flow into the projector)."""
        self.encode(prompts)
        projector = self.lm.model.model.multi_modal_projector
        return audio_lib.project(projector, [self.hidden[p.utt] for p in prompts], self.batched)


def target_logprobs(lm: AudioLM, prompts: list[Prompt], targets: list[str], audio=None):
    """``(log-probs [N, T], mask [N, T])`` of the target completions (EOS included); ``audio``
    (a :class:`FrozenTowerCache`) gives the audio tokens, else the model encodes them."""
    ids, mask = lm.completion_ids(targets)
    tokens = audio(prompts) if audio is not None else None
    return lm.logprobs(prompts, ids, mask, audio=tokens), mask.to(lm.device)


def share_of(env: Distributed | None, utts: list[str], synced: bool) -> tuple[list[str], bool]:
    """This process's share of a batch (all of it without ``env``), and whether it is a
    stand-in: with ``synced`` (ZeRO-3, where every process must make the same module calls) a
    process whose share is empty runs the batch's first utterance instead, weighted zero."""
    mine = env.shard(utts) if env is not None else list(utts)
    if not mine and synced:
        return utts[:1], True
    return mine, False


@torch.no_grad()
def dev_scores(
    lm: AudioLM,
    config: SftConfig,
    dev: LalmDataset,
    prompts: PromptCache,
    labels,
    audio: FrozenTowerCache | None = None,
    env: Distributed | None = None,
    zero: ZeroEngine | None = None,
) -> dict[str, float]:
    """Teacher-forced dev loss per target token; for emo the accuracy of greedy answers. With
    ``env`` of several processes each scores its share of every batch and the sums are added;
    with ``zero`` every pass runs through DeepSpeed (and see :func:`share_of`)."""
    add = env.sum if env is not None else list
    synced = zero is not None
    was_training = lm.model.training
    lm.model.eval()
    shares = [share_of(env, b, synced) for b in dev.batches(config.dev_batch_size)]
    shares = [(utts, stand_in) for utts, stand_in in shares if utts]
    total, tokens = 0.0, 0
    for utts, stand_in in shares:
        targets = [dev.targets[u] for u in utts]
        logp, mask = run_pass(zero, target_logprobs, lm, prompts(utts), targets, audio)
        if not stand_in:
            total -= float(logp.sum())
            tokens += int(mask.sum())
    total, tokens = add([total, tokens])
    scores = {"dev_loss": total / tokens}
    if config.task == "emo":
        all_done = env.all_done if synced else None
        decoded = run_pass(
            zero,
            partial(decode_prompts, progress=False, audio=audio, all_done=all_done),
            lm,
            [prompts(utts) for utts, _ in shares],
            config.format,
            labels,
            config.dev_max_new_tokens,
        )
        mine = {u for utts, stand_in in shares if not stand_in for u in utts}
        decoded = [d for d in decoded if d.utt in mine]
        correct = sum(d.label == dev.references[d.utt] for d in decoded)
        valid = sum(d.format_valid for d in decoded)
        correct, valid, count = add([correct, valid, len(decoded)])
        scores["dev_accuracy"] = correct / count
        scores["dev_format_valid"] = valid / count
    lm.model.train(was_training)
    return scores


def _better(metric: str, value: float, best: float | None) -> bool:
    if best is None:
        return True
    return value < best if metric == "dev_loss" else value > best


def save_best(lm: AudioLM, config: SftConfig, model_dir: Path) -> None:
    """Save the model dir and its ``task.json`` (what decoding needs to prompt and parse)."""
    lm.save(model_dir)
    task = {
        "task": config.task,
        "format": config.format,
        "label_set": config.labels(),
        "prompt": config.prompt_text(),
    }
    with atomic_write(model_dir / MODEL_TASK_FILE) as f:
        json.dump(task, f, indent=2)


def train_sft(
    config: SftConfig,
    train: LalmDataset,
    dev: LalmDataset,
    exp_dir: str | os.PathLike,
    resume: bool = False,
    fingerprint: dict | None = None,
    env: Distributed | None = None,
) -> dict:
    """Fine-tune, select on dev, save ``exp_dir/model``; returns the best dev scores (on every
    process). ``env``: the process's place in a data-parallel job (default: from torchrun's
    environment, one process without it)."""
    config.check()
    env = env or Distributed(config.device)
    exp_dir = Path(exp_dir)
    set_seed(config.seed)
    lm = build_model(config, train)
    lm.model.to(env.device)
    params = set_trainable(lm, config)
    tokenizer_md5 = hashlib.md5(lm.tokenizer.backend_tokenizer.to_str().encode()).hexdigest()
    if len(set(env.gather(tokenizer_md5))) > 1:
        raise RuntimeError("the processes built different tokenizers from the same training text")
    # Every process builds the model from the same seed; rank 0's weights are copied anyway, as
    # DDP does, so that no difference in initialisation can make the replicas drift apart.
    env.broadcast_parameters(lm.model)
    logging.info(
        "%s model: %d parameters, %d trainable (%s)",
        config.model,
        lm.num_parameters(),
        sum(p.numel() for p in params),
        config.trainable,
    )
    labels = config.labels()
    text = config.prompt_text()
    train_prompts, dev_prompts = PromptCache(lm, train, text), PromptCache(lm, dev, text)
    synced = bool(config.deepspeed)  # ZeRO-3: the same module calls on every process
    audio = None if "audio" in config.trainable_parts() else FrozenTowerCache(lm, synced)

    micro_per_epoch = math.ceil(len(train) / config.batch_size)
    total_steps = config.max_steps or math.ceil(
        micro_per_epoch * config.num_epochs / config.grad_accum
    )
    eval_every, save_every = config.eval_and_save_steps(micro_per_epoch)
    logging.info(
        "%d steps; dev scored every %d, checkpoints every %d", total_steps, eval_every, save_every
    )
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, min(config.warmup_steps, total_steps), total_steps
    )
    fingerprint = {**(fingerprint or {}), "tokenizer": tokenizer_md5}
    zero = None
    if config.deepspeed:
        zero = ZeroEngine(
            config.deepspeed,
            lm.sharded_parts(),
            optimizer,
            env.world_size,
            micro_batch_per_process=math.ceil(config.batch_size / env.world_size),
            grad_accum=config.grad_accum,
            max_grad_norm=config.max_grad_norm,
            bf16=config.dtype == "bfloat16",
            hidden_size=lm.model.config.text_config.hidden_size,
        )
        fingerprint["deepspeed"] = zero.config
    manager = CheckpointManager(
        exp_dir, options=asdict(config), fingerprint=fingerprint, keep_last=config.keep_last
    )
    module = lm.peft if lm.peft is not None else lm.model
    objects = {"model": module, "optimizer": optimizer, "scheduler": scheduler}
    if zero is not None:  # the model and optimiser state are DeepSpeed's shards
        objects = {"scheduler": scheduler}
    checkpoint = manager.resume(resume, clear=False)
    step, best, best_scores = 0, None, {}
    if checkpoint is not None:
        restore_checkpoint(checkpoint, objects, zero, manager)
        step = checkpoint.step
        if audio is not None:  # cached as the interrupted run cached it: same batches
            first_epoch = train.batches(config.batch_size, shuffle=True, seed=config.seed, epoch=0)
            for batch in first_epoch[: step * config.grad_accum]:
                audio.encode(train_prompts(share_of(env, batch, synced)[0]))
        best, best_scores = checkpoint.meta["meta"]["best"], checkpoint.meta["meta"]["best_scores"]
    env.barrier()  # every process has read the checkpoint before rank 0 may remove it
    logger = None
    if env.is_main:
        if checkpoint is None:
            manager.clear()
        logger = StepLogger(exp_dir, resume_after=step if checkpoint is not None else None)

    lm.model.train()
    batches_of_epoch: dict[int, list[list[str]]] = {}
    progress = tqdm(
        total=total_steps,
        initial=step,
        desc="sft",
        unit="step",
        disable=None if env.is_main else True,
    )
    while step < total_steps:
        started = time.perf_counter()
        loss_sum, tokens = 0.0, 0
        if zero is None:  # DeepSpeed zeroes its gradients in its step
            optimizer.zero_grad(set_to_none=True)
        for micro in range(step * config.grad_accum, (step + 1) * config.grad_accum):
            epoch, index = divmod(micro, micro_per_epoch)
            if epoch not in batches_of_epoch:
                batches_of_epoch = {
                    epoch: train.batches(
                        config.batch_size, shuffle=True, seed=config.seed, epoch=epoch
                    )
                }
            # A short last batch can leave a process without utterances (or a stand-in).
            utts, stand_in = share_of(env, batches_of_epoch[epoch][index], synced)
            logp, mask = None, None
            if utts:
                targets = [train.targets[u] for u in utts]
                logp, mask = run_pass(
                    zero, target_logprobs, lm, train_prompts(utts), targets, audio
                )
            n = int(mask.sum()) if mask is not None and not stand_in else 0
            n_all = int(env.sum([n])[0])  # the micro-batch's target tokens over all processes
            if logp is not None:
                # Token-mean over the whole accumulated step: each micro-batch adds its token
                # sum, divided by the token count of the whole micro-batch (all processes).
                loss = -logp.sum() / (n_all * config.grad_accum) * (0.0 if stand_in else 1.0)
                if zero is not None:
                    zero.backward(loss)
                else:
                    loss.backward()
                loss_sum -= float(logp.detach().sum()) if not stand_in else 0.0
            tokens += n
        # Without DeepSpeed, gradients are summed over processes by an explicit all-reduce of
        # the trainable parameters' gradients, once per optimiser step, instead of
        # DistributedDataParallel: the loss is not one ``module(x)`` call (target_logprobs runs
        # the projector, the text model's embeddings, layers and head as separate calls inside
        # AudioLM.logprobs, the audio tower through FrozenTowerCache) and DDP only prepares its
        # gradient reduction in its own forward; it would also need find_unused_parameters for
        # the frozen parts and no_sync for gradient accumulation. The loss scaling above makes
        # the sum exact.
        if zero is not None:
            grad_norm = zero.step()
        else:
            env.all_reduce_grads(params)
            grad_norm = torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
        loss_sum, tokens = env.sum([loss_sum, tokens])
        scheduler.step()
        step += 1
        row = {
            "step": step,
            "epoch": (step * config.grad_accum) / micro_per_epoch,
            "loss": loss_sum / tokens,
            "lr": scheduler.get_last_lr()[0],
            "grad_norm": float(grad_norm),
            "target_tokens": tokens,
            "sec_per_step": time.perf_counter() - started,
        }
        if step % eval_every == 0 or step == total_steps:
            scores = dev_scores(lm, config, dev, dev_prompts, labels, audio, env, zero)
            row.update(scores)
            metric = config.selected_metric()
            if _better(metric, scores[metric], best):  # the same on every process
                best, best_scores = scores[metric], {"step": step, **scores}
                with zero.gathered() if zero is not None else contextlib.nullcontext():
                    if env.is_main:
                        save_best(lm, config, exp_dir / "model")
                        logging.info("step %d: best %s %.4f saved", step, metric, best)
        progress.update(1)
        progress.set_postfix(loss=f"{row['loss']:.3f}")
        if env.is_main:
            logger.log(row)
        if step % save_every == 0 or step == total_steps:
            meta = {"best": best, "best_scores": best_scores}
            save_checkpoint(manager, objects, env, zero, step=step, meta=meta)
    progress.close()
    if env.is_main:
        logger.close()
        with atomic_write(exp_dir / "best.json") as f:
            json.dump(best_scores, f, indent=2)
    env.barrier()  # the files are complete before any process returns
    return best_scores
