"""Supervised training of :class:`~emorl.ser.model.SERClassifier` on dumped features (stage 3).

One epoch over the training set, then the dev set is scored; the epoch with the best dev score
(``select_metric``, UA by default) is the model, and training stops after ``patience`` epochs
without improvement. Every epoch writes ``exp_dir/checkpoints/epochNNN.{pt,json}``
(:class:`~emorl.train.CheckpointManager`: model, optimiser, scheduler, best weights, early-stopping
state, RNG), so ``resume`` continues exactly where an interrupted run stopped: the shuffling depends
only on the seed and the epoch, and the dropout generator is restored, so the final model equals
that of an uninterrupted run. A checkpoint made with other options or inputs (the dumps'
fingerprints, the label files) is not resumed: the run starts afresh and says why.

Outputs in ``exp_dir``: ``model.pt`` + ``labels`` (:func:`~emorl.ser.model.save_model`, the best
epoch), ``train_log.csv`` (epoch, train_loss, dev_loss, dev_ua, dev_wa, dev_macro_f1, lr) and the
same numbers as TensorBoard events in ``tensorboard/``, ``train.log``, ``config.yaml``.

Data-parallel: run under ``torchrun --nproc_per_node N``; each process trains on its shard of every
epoch (``batch_size`` is per process; gloo on CPU, nccl on GPU), every process scores the whole dev
set (so all take the same early-stopping decisions) and process 0 writes the files.
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight
from tqdm import tqdm

from emorl import cli
from emorl.data.datadir import read_table
from emorl.data.feats import FeatsInfo, read_feats
from emorl.data.labels import get_label_set
from emorl.fingerprint import dump_fingerprint, file_sha256
from emorl.metrics.ser import ser_scores
from emorl.ser.dataset import FeatsDataset, check_coverage, make_loader
from emorl.ser.infer import predict_posteriors
from emorl.ser.model import POOLINGS, SERClassifier, save_model
from emorl.train import CheckpointManager, Distributed, StepLogger

SELECT_METRICS = ("ua", "wa", "macro_f1", "weighted_f1", "loss")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of supervised training (also the keys of conf/ser*.yaml)."""
    g = parser.add_argument_group("data")
    g.add_argument("--label_set", required=True, help="label set name (emorl.data.labels) or file")
    g.add_argument("--train_data", type=Path, required=True, help="training data dir (utt2emo)")
    g.add_argument("--train_feats", type=Path, required=True, help="training feature dump dir")
    g.add_argument("--dev_data", type=Path, required=True, help="dev data dir (utt2emo)")
    g.add_argument("--dev_feats", type=Path, required=True, help="dev feature dump dir")
    g.add_argument("--exp_dir", type=Path, required=True, help="output dir")
    g.add_argument(
        "--allow_missing",
        type=cli.str2bool,
        default=False,
        help="keep the utterances that have both features and labels instead of stopping",
    )
    g = parser.add_argument_group("model")
    g.add_argument("--pooling", choices=POOLINGS, default="stats", help="pooling over frames")
    g.add_argument("--hidden_dims", type=int, nargs="*", default=[256], help="MLP hidden sizes")
    g.add_argument("--dropout", type=float, default=0.2, help="dropout in the MLP")
    g.add_argument("--attention_dim", type=int, default=128, help="attentive pooling hidden size")
    g = parser.add_argument_group("training")
    g.add_argument("--seed", type=int, default=0, help="random seed")
    g.add_argument(
        "--resume", type=cli.str2bool, default=False, help="continue from the last checkpoint"
    )
    g.add_argument("--batch_size", type=int, default=32, help="utterances per batch (per process)")
    g.add_argument("--max_epochs", type=int, default=30, help="most epochs")
    g.add_argument(
        "--patience",
        type=int,
        default=6,
        help="stop after this many epochs without dev improvement (0: never)",
    )
    g.add_argument(
        "--select_metric",
        choices=SELECT_METRICS,
        default="ua",
        help="dev metric for model selection",
    )
    g.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    g.add_argument("--weight_decay", type=float, default=1e-4, help="AdamW weight decay")
    g.add_argument(
        "--lr_scheduler",
        choices=("constant", "cosine", "plateau"),
        default="plateau",
        help="cosine: anneal to 0 over max_epochs; plateau: halve the lr when dev stalls",
    )
    g.add_argument(
        "--lr_patience",
        type=int,
        default=3,
        help="plateau: halve the lr after this many epochs without dev improvement",
    )
    g.add_argument(
        "--class_weight",
        choices=("none", "balanced"),
        default="none",
        help="balanced: weight the loss by inverse class frequency (sklearn's 'balanced')",
    )
    g.add_argument("--grad_clip", type=float, default=5.0, help="max gradient norm (0: off)")
    g.add_argument(
        "--keep_checkpoints", type=int, default=2, help="epoch checkpoints kept (the last N)"
    )
    g.add_argument("--device", default="auto", help="auto, cpu, cuda")


def read_labeled(data_dir: Path, label_set: list[str]) -> dict[str, str]:
    """``utt2emo`` of a data dir; a label outside ``label_set`` stops, naming the file and line."""
    path = Path(data_dir) / "utt2emo"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; training and scoring need labeled data")
    utt2emo = read_table(path)
    allowed = set(label_set)
    for lineno, (utt, label) in enumerate(utt2emo.items(), 1):
        if label not in allowed:
            raise ValueError(
                f"{path}:{lineno}: utterance {utt} has label {label!r}, "
                f"not in the label set {label_set}"
            )
    return utt2emo


def load_split(
    data_dir: Path, feats_dir: Path, labels: list[str], allow_missing: bool
) -> tuple[FeatsInfo, FeatsDataset]:
    """The labeled dataset of one data dir and its feature dump (coverage checked)."""
    utt2emo = read_labeled(data_dir, labels)
    info, feats = read_feats(feats_dir)
    utts = check_coverage(
        feats, utt2emo, str(feats_dir / "feats.scp"), str(data_dir / "utt2emo"), allow_missing
    )
    return info, FeatsDataset(feats, utt2emo, labels, utts)


def check_same_features(a: FeatsInfo, b: FeatsInfo, where_a: str, where_b: str) -> None:
    """Two dumps must come from the same upstream, layers and pooling."""
    for key in ("upstream", "layers", "dim", "pooling"):
        if getattr(a, key) != getattr(b, key):
            raise ValueError(
                f"{where_a} and {where_b} differ in {key}: "
                f"{getattr(a, key)!r} vs {getattr(b, key)!r}"
            )


def feature_stats(dataset: FeatsDataset) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation ``[L, D]`` over all frames of the dataset."""
    total = count = total_sq = 0
    for utt in dataset.utts:
        x = dataset.feats[utt].astype(np.float64)
        total = total + x.sum(axis=0)
        total_sq = total_sq + (x**2).sum(axis=0)
        count += x.shape[0]
    mean = total / count
    return mean, np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))


def loss_weights(dataset: FeatsDataset, num_classes: int, mode: str) -> torch.Tensor | None:
    """Class weights of the cross-entropy (``balanced``: sklearn's inverse frequency)."""
    if mode == "none":
        return None
    y = np.array(dataset.label_ids)
    present = np.unique(y)
    weights = np.zeros(num_classes)  # classes absent from training never occur in the loss
    weights[present] = compute_class_weight("balanced", classes=present, y=y)
    return torch.tensor(weights, dtype=torch.float32)


def evaluate(
    model: SERClassifier, dataset: FeatsDataset, labels: list[str], batch_size: int
) -> dict:
    """Dev loss (mean cross-entropy) and :func:`~emorl.metrics.ser.ser_scores` of a dataset."""
    posteriors = predict_posteriors(model, {u: dataset.feats[u] for u in dataset.utts}, batch_size)
    probs = np.stack([posteriors[u] for u in dataset.utts])
    y = np.array(dataset.label_ids)
    loss = float(-np.log(np.maximum(probs[np.arange(len(y)), y], 1e-12)).mean())
    refs = {u: labels[i] for u, i in zip(dataset.utts, y)}
    hyps = {u: labels[int(np.argmax(probs[k]))] for k, u in enumerate(dataset.utts)}
    return {"loss": loss, **ser_scores(refs, hyps, labels)}


def training_options(args: argparse.Namespace) -> dict:
    """The options that define a training run (a checkpoint resumes only a run with the same)."""
    ignored = ("config", "resume", "device", "keep_checkpoints")
    return {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k not in ignored
    }


def input_fingerprint(args: argparse.Namespace) -> dict:
    """What identifies the run's inputs: the dumps' own fingerprints and the label files."""
    return {
        "train_feats": dump_fingerprint(args.train_feats),
        "dev_feats": dump_fingerprint(args.dev_feats),
        "train_labels": file_sha256(Path(args.train_data) / "utt2emo"),
        "dev_labels": file_sha256(Path(args.dev_data) / "utt2emo"),
    }


def make_scheduler(args: argparse.Namespace, optimizer: torch.optim.Optimizer, mode: str):
    """The per-epoch learning-rate schedule (None for a constant rate)."""
    if args.lr_scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.max_epochs)
    if args.lr_scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=0.5, patience=args.lr_patience
        )
    return None


def train(args: argparse.Namespace) -> Path:
    """Train, select on dev, and write the model into ``args.exp_dir``; returns that dir."""
    env = Distributed(args.device)
    exp_dir = Path(args.exp_dir)
    try:
        if env.is_main:
            exp_dir.mkdir(parents=True, exist_ok=True)
            cli.setup_logging(exp_dir / "train.log")
            cli.save_config(args, exp_dir / "config.yaml")
        else:
            cli.setup_logging(level=logging.WARNING)
        logging.info("command: %s", " ".join(sys.argv))
        _train(args, env, exp_dir)
    finally:
        env.close()
    return exp_dir


def _train(args: argparse.Namespace, env: Distributed, exp_dir: Path) -> None:
    cli.set_seed(args.seed)
    labels = list(get_label_set(args.label_set))
    info, train_set = load_split(args.train_data, args.train_feats, labels, args.allow_missing)
    dev_info, dev_set = load_split(args.dev_data, args.dev_feats, labels, args.allow_missing)
    check_same_features(info, dev_info, str(args.train_feats), str(args.dev_feats))
    counts = np.bincount(train_set.label_ids, minlength=len(labels))
    logging.info(
        "train: %d utts %s; dev: %d utts",
        len(train_set),
        dict(zip(labels, counts.tolist())),
        len(dev_set),
    )
    for label, n in zip(labels, counts):
        if n == 0:
            logging.warning(
                "class %r has no training utterance in %s: the model cannot learn it",
                label,
                args.train_data,
            )
    if len(train_set) < env.world_size:
        raise ValueError(
            f"{args.train_data}: {len(train_set)} utterances for {env.world_size} processes"
        )

    config = {
        "input_dim": info.dim,
        "num_layers": info.num_layers,
        "num_classes": len(labels),
        "pooling": args.pooling,
        "hidden_dims": list(args.hidden_dims),
        "dropout": args.dropout,
        "attention_dim": args.attention_dim,
        "feats": {
            "upstream": info.upstream,
            "layers": list(info.layers),
            "dim": info.dim,
            "pooling": info.pooling,
        },
    }
    model = SERClassifier.from_config(config)
    model.set_normalization(*(torch.from_numpy(s) for s in feature_stats(train_set)))
    model.to(env.device)
    weights = loss_weights(train_set, len(labels), args.class_weight)
    criterion = torch.nn.CrossEntropyLoss(
        weight=None if weights is None else weights.to(env.device)
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    higher_is_better = args.select_metric != "loss"
    scheduler = make_scheduler(args, optimizer, "max" if higher_is_better else "min")
    loader = make_loader(
        train_set,
        args.batch_size,
        shuffle=True,
        seed=args.seed,
        num_replicas=env.world_size,
        rank=env.rank,
    )
    ddp_model = env.wrap(model)

    state = {
        "epoch": 0,
        "best_epoch": 0,
        "best_score": None,
        "bad_epochs": 0,
        "stopped": False,
    }
    best_state = None
    trained = {"model": model, "optimizer": optimizer}
    if scheduler is not None:
        trained["scheduler"] = scheduler
    manager = CheckpointManager(
        exp_dir, training_options(args), input_fingerprint(args), args.keep_checkpoints
    )
    saved = manager.resume(args.resume, clear=False)
    if saved is not None:
        saved.restore(trained)
        state = {k: saved.meta["meta"][k] for k in state}
        best_state = saved.tensors["best_state"]
    env.barrier()
    log = None
    if env.is_main:
        if saved is None:
            manager.clear()
        log = StepLogger(
            exp_dir, index="epoch", resume_after=None if saved is None else saved.epoch
        )

    for epoch in range(state["epoch"] + 1, args.max_epochs + 1):
        if state["stopped"]:
            break
        lr = optimizer.param_groups[0]["lr"]
        train_loss = _train_epoch(
            ddp_model, loader, criterion, optimizer, args.grad_clip, epoch, env
        )
        dev = evaluate(model, dev_set, labels, args.batch_size)
        score = dev[args.select_metric]
        improved = state["best_score"] is None or (
            score > state["best_score"] if higher_is_better else score < state["best_score"]
        )
        if improved:
            state.update(best_score=score, best_epoch=epoch, bad_epochs=0)
            best_state = copy.deepcopy({k: v.cpu() for k, v in model.state_dict().items()})
        else:
            state["bad_epochs"] += 1
        state["stopped"] = args.patience > 0 and state["bad_epochs"] >= args.patience
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(score)
        elif scheduler is not None:
            scheduler.step()
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "dev_loss": dev["loss"],
            "dev_ua": dev["ua"],
            "dev_wa": dev["wa"],
            "dev_macro_f1": dev["macro_f1"],
            "lr": lr,
        }
        state["epoch"] = epoch
        logging.info(
            "epoch %d: train_loss %.4f dev_loss %.4f dev UA %.2f WA %.2f macro-F1 %.2f lr %.2g%s",
            epoch,
            train_loss,
            dev["loss"],
            100 * dev["ua"],
            100 * dev["wa"],
            100 * dev["macro_f1"],
            lr,
            " (best)" if improved else "",
        )
        if env.is_main:
            log.log(row)
            manager.save({**trained, "best_state": best_state}, epoch=epoch, meta=state)
        env.barrier()
        if state["stopped"]:
            logging.info(
                "early stop: no dev %s improvement for %d epochs", args.select_metric, args.patience
            )

    if env.is_main:
        log.close()
        model.load_state_dict(best_state)
        save_model(model, exp_dir, labels, config)
        logging.info(
            "model of epoch %d (dev %s %.4f) written to %s",
            state["best_epoch"],
            args.select_metric,
            state["best_score"],
            exp_dir / "model.pt",
        )
    env.barrier()


def _train_epoch(
    model, loader, criterion, optimizer, grad_clip: float, epoch: int, env: Distributed
) -> float:
    """One pass over this process's shard; the mean training loss over all processes."""
    model.train()
    loader.sampler.set_epoch(epoch)
    total, count = 0.0, 0
    for step, (x, lengths, y, utts) in enumerate(
        tqdm(loader, desc=f"epoch {epoch}", disable=None if env.is_main else True)
    ):
        x, lengths, y = x.to(env.device), lengths.to(env.device), y.to(env.device)
        loss = criterion(model(x, lengths), y)
        # Every process learns of a bad batch anywhere, so that none waits forever for the others.
        bad = env.sum([0.0 if torch.isfinite(loss) else 1.0])[0]
        if bad:
            where = (
                f"utterances {utts[:8]}{' ...' if len(utts) > 8 else ''}"
                if not torch.isfinite(loss)
                else "another process"
            )
            raise FloatingPointError(
                f"epoch {epoch}, batch {step}: loss is {loss.item()} on {where}"
            )
        optimizer.zero_grad()
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        total += loss.item() * len(utts)
        count += len(utts)
    total, count = env.sum([total, count])
    return total / count
