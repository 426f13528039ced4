"""Stage 6 of the audio-LM recipes: options, initial model, data and fingerprint of a GRPO run.

The logic behind ``python -m emorl.bin.train_grpo`` (see its docstring for the files it writes):
the task of the initial model (its task.json), the model with LoRA or a frozen reference copy, the
prompt dataset, the inputs' fingerprint that a resumed run must match, then
:class:`emorl.rl.grpo_trainer.GRPOTrainer`; and behind ``python -m
emorl.bin.export_grpo_checkpoint``, which writes the model of one of a run's checkpoints.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

import torch

from emorl import cli
from emorl.atomic import atomic_dir, atomic_write
from emorl.data.labels import get_label_set
from emorl.fingerprint import file_sha256, json_sha256, tree_sha256
from emorl.lalm.data import MODEL_TASK_FILE, read_model_task
from emorl.lalm.model import META, AudioLM
from emorl.lalm.prompts import FORMATS, TASKS, instruction
from emorl.rl.grpo_trainer import (
    LOSS_TYPES,
    SCALE_REWARDS,
    GRPOConfig,
    GRPOTrainer,
    PromptDataset,
    RunSettings,
)
from emorl.safe_load import CheckpointError
from emorl.train import Checkpoint, CheckpointManager, Distributed, load_checkpoint_file

DEFAULTS = GRPOConfig()
HELP = {
    "rewards": "reward weights and options: name=weight,... or a yaml mapping (the format "
    "reward checks the run's format unless given one)",
    "num_generations": "completions per prompt (the group size G)",
    "prompts_per_step": "prompts per generation batch (over all processes; at least one each)",
    "max_completion_length": "tokens sampled at most per completion",
    "temperature": "sampling temperature",
    "top_p": "nucleus sampling mass",
    "beta": "weight of the k3 KL to the reference (0: no reference pass)",
    "epsilon": "clipping range of the ratio (acts with num_iterations > 1)",
    "num_iterations": "optimiser steps per generation batch",
    "loss_type": "average per sequence then over sequences, or over all tokens",
    "scale_rewards": "divide advantages by the group's or the batch's reward std, or not",
    "std_eps": "added to the std",
    "learning_rate": "AdamW learning rate",
    "weight_decay": "AdamW weight decay",
    "max_grad_norm": "gradient clipping (0: off)",
    "gradient_accumulation_steps": "micro-batches (of groups) per optimiser step",
    "max_steps": "GRPO steps",
    "save_steps": "checkpoint every this many steps",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of stage 6 (also the keys of conf/grpo/*.yaml)."""
    g = parser.add_argument_group("data")
    g.add_argument("--init_model", type=Path, required=True, help="audio-LM model directory")
    g.add_argument("--train_data", type=Path, required=True, help="training data dir")
    g.add_argument("--exp_dir", type=Path, required=True, help="output dir")
    g.add_argument("--task", choices=TASKS, help="emo, cap or ov (default: task.json's)")
    g.add_argument("--format", choices=FORMATS, help="output format (default: task.json's)")
    g.add_argument("--label_set", help="emo: label set name or file (default: task.json's)")
    g = parser.add_argument_group("GRPO (TRL's names where they exist)")
    choices = {"loss_type": LOSS_TYPES, "scale_rewards": SCALE_REWARDS}
    for f in dataclasses.fields(GRPOConfig):
        if f.name in ("task", "format"):
            continue  # the data group's, or task.json's
        default = getattr(DEFAULTS, f.name)
        kind = {int: int, float: float}.get(type(default))
        g.add_argument(
            f"--{f.name}",
            type=kind,
            choices=choices.get(f.name),
            default=default,
            help=HELP[f.name],
        )
    g = parser.add_argument_group("model")
    g.add_argument("--lora", type=cli.str2bool, default=True, help="train a LoRA adapter")
    g.add_argument("--lora_r", type=int, default=8, help="LoRA rank")
    g.add_argument("--lora_alpha", type=int, default=16, help="LoRA alpha")
    g.add_argument("--lora_dropout", type=float, default=0.0, help="LoRA dropout")
    g.add_argument(
        "--lora_target_modules", nargs="+", default=["q_proj", "v_proj"], help="text modules"
    )
    g.add_argument(
        "--train_projector", type=cli.str2bool, default=True, help="also train the projector"
    )
    g.add_argument("--dtype", choices=("float32", "bfloat16"), help="default: the saved one")
    g.add_argument("--long_audio", choices=("split", "truncate", "error"), help="over 30 s")
    g = parser.add_argument_group("run")
    g.add_argument("--seed", type=int, default=0, help="random seed")
    g.add_argument("--resume", type=cli.str2bool, default=False, help="continue a stopped run")
    g.add_argument("--keep_checkpoints", type=int, default=2, help="checkpoints kept")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    g.add_argument(
        "--deepspeed", help="a DeepSpeed ZeRO-3 JSON file (default: plain data parallel)"
    )


def task_of(args: argparse.Namespace) -> dict:
    """Task, format, label set and prompt: the init model's ``task.json`` (options must agree with
    it), else the options (the instruction of :func:`emorl.lalm.prompts.instruction`)."""
    given = {"task": args.task, "format": args.format}
    given["label_set"] = list(get_label_set(args.label_set)) if args.label_set else None
    if (Path(args.init_model) / MODEL_TASK_FILE).is_file():
        task = read_model_task(args.init_model)
        for key, value in given.items():
            if value is not None and value != task[key]:
                raise ValueError(
                    f"--{key} {value} contradicts {Path(args.init_model) / MODEL_TASK_FILE} "
                    f"({key} {task[key]}): the model was fine-tuned for that"
                )
        return task
    if args.task is None or args.format is None:
        raise ValueError(
            f"{args.init_model} has no {MODEL_TASK_FILE} (not an SFT model dir): "
            "give --task and --format"
        )
    if args.task == "emo" and not given["label_set"]:
        raise ValueError("--task emo needs --label_set")
    label_set = given["label_set"] if args.task == "emo" else None
    prompt = instruction(args.task, args.format, label_set)
    return {"task": args.task, "format": args.format, "label_set": label_set, "prompt": prompt}


def model_fingerprint(init_model: str | Path) -> dict:
    """The initial model's files, and its base model's when it is a LoRA adapter."""
    fingerprint = {"init_model": tree_sha256(init_model)}
    meta_path = Path(init_model) / META
    base = json.loads(meta_path.read_text()).get("base") if meta_path.is_file() else None
    if base:
        base = Path(base) if Path(base).is_absolute() else Path(init_model) / base
        fingerprint["base_model"] = tree_sha256(base)
    return fingerprint


def input_fingerprint(args: argparse.Namespace, dataset: PromptDataset) -> dict:
    """The initial model's files (and its base's), the training utterances, their references
    and audio: a checkpoint resumes only a run on the same inputs."""
    fingerprint = model_fingerprint(args.init_model)
    fingerprint["train_references"] = json_sha256(dataset.references)
    audio = [Path(args.train_data) / name for name in ("wav.scp", "segments")]
    fingerprint["train_audio"] = json_sha256([file_sha256(p) for p in audio if p.is_file()])
    return fingerprint


def load_policy(args: argparse.Namespace, device: str | torch.device = "cpu") -> AudioLM:
    """The model that GRPO trains: the initial model (a LoRA adapter it has merged into its
    weights), with a new LoRA adapter if ``args.lora``."""
    lm = AudioLM.load(args.init_model, dtype=args.dtype, long_audio=args.long_audio)
    lm.to(device)
    if lm.peft is not None:
        logging.info("%s has a LoRA adapter: merged into the weights", args.init_model)
        lm.merge_lora()
    if args.lora:
        lm.enable_lora(
            r=args.lora_r,
            alpha=args.lora_alpha,
            dropout=args.lora_dropout,
            target_modules=args.lora_target_modules,
            train_projector=args.train_projector,
        )
    return lm


def write_model_dir(lm: AudioLM, task: dict, out_dir: Path) -> None:
    """``lm`` and its ``task.json`` (what decoding reads), as one atomic directory."""
    with atomic_dir(out_dir) as tmp:
        lm.save(tmp)
        with atomic_write(tmp / MODEL_TASK_FILE) as f:
            json.dump(task, f, indent=2)
    logging.info("model written to %s", out_dir)


def run(args: argparse.Namespace) -> None:
    """Load, train, and write the model into ``args.exp_dir/model``; under ``torchrun`` with
    several processes, data parallel (only rank 0 writes)."""
    with Distributed(args.device) as env:
        if env.is_main:
            exp_dir = cli.start_exp_dir(args, args.exp_dir)
        else:
            exp_dir = Path(args.exp_dir)
            cli.setup_logging(level=logging.WARNING)
        _run(args, exp_dir, env)


def _run(args: argparse.Namespace, exp_dir: Path, env: Distributed) -> None:
    task = task_of(args)
    names = [f.name for f in dataclasses.fields(GRPOConfig) if f.name not in ("task", "format")]
    config = GRPOConfig(
        task=task["task"], format=task["format"], **{name: getattr(args, name) for name in names}
    )
    cli.set_seed(args.seed)
    lm = load_policy(args, env.device)
    if not args.lora and config.beta > 0:
        lm.freeze_reference()
    dataset = PromptDataset.from_data_dir(
        args.train_data, task["task"], task["prompt"], task["label_set"]
    )
    logging.info("training set: %d utterances from %s", len(dataset), args.train_data)
    ignored = ("config", "resume", "device", "keep_checkpoints", "exp_dir")
    options = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    settings = RunSettings(
        exp_dir,
        seed=args.seed,
        resume=args.resume,
        keep_checkpoints=args.keep_checkpoints,
        label_set=task["label_set"],
        options={k: v for k, v in options.items() if k not in ignored},
        fingerprint=input_fingerprint(args, dataset),
        deepspeed=args.deepspeed,
    )
    trainer = GRPOTrainer(lm, dataset, config, settings, env)
    trainer.train()
    with trainer.gathered():
        if env.is_main:
            write_model_dir(lm, task, exp_dir / "model")


def export_checkpoint(
    exp_dir: Path, out_dir: Path, step: int | None = None, init_model: Path | None = None
) -> int:
    """Write the model of a GRPO run's checkpoint of ``step`` (default: the last one kept) into
    ``out_dir`` as the run writes its ``model/``. The learning rate is constant and the data and
    sampling depend on the seed and the step, so this is the model of a run with ``max_steps``
    equal to ``step``, unless a reward depends on the run's length (ESWR's alpha scheduled over
    ``total_steps``). The checkpoint's options rebuild the model; its initial model
    (``init_model``, default: the path the run was given) must have the files it had then.
    Returns the step."""
    manager = CheckpointManager(exp_dir, {})
    metas = [(p, json.loads(p.with_suffix(".json").read_text())) for p in manager.paths()]
    kept = {meta["step"]: (p, meta) for p, meta in metas}
    if not kept:
        raise CheckpointError(f"{manager.dir}: no checkpoint")
    step = max(kept) if step is None else step
    if step not in kept:
        raise CheckpointError(f"{manager.dir}: no checkpoint of step {step} (kept: {sorted(kept)})")
    path, meta = kept[step]
    if "deepspeed" in meta["fingerprint"]:
        raise CheckpointError(
            f"{path}: a DeepSpeed ZeRO-3 run, whose weights are the processes' shards; "
            "exporting it is not supported"
        )
    args = argparse.Namespace(**meta["options"])
    args.init_model = str(init_model or args.init_model)
    now = model_fingerprint(args.init_model)
    changed = [k for k in now if now[k] != meta["fingerprint"].get(k)]
    if changed:
        raise CheckpointError(
            f"{args.init_model}: not the initial model of {path} ({', '.join(changed)} changed)"
        )
    lm = load_policy(args)
    checkpoint = Checkpoint(path, load_checkpoint_file(path, "training checkpoint"), meta)
    checkpoint.restore({"model": lm.peft if lm.peft is not None else lm.model}, rng=False)
    write_model_dir(lm, task_of(args), out_dir)
    return step
