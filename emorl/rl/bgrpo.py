"""B-GRPO: unsupervised adaptation of an emotion classifier by batched-group policy optimisation.

The method and its open choices: docs/methods.md (B-GRPO). The policy is a classifier
``(feats [B, T, L, D], lengths [B]) -> logits [B, C]``; the mini-batch of unlabeled utterances is
the group. Per batch:

1. action ``a_i``: the policy's argmax label, or a label sampled from it (``action``);
2. reward ``r_i``: a weighted sum of registered rewards (:mod:`emorl.rl.rewards`) computed from the
   student's posterior and a frozen teacher's (:mod:`emorl.rl.teacher`);
3. advantage ``A_i = max(0, r_i - mean_batch(r))`` (optionally divided by the batch std; negatives
   kept for the ablation with ``keep_negative``), through :func:`emorl.rl.grpo.group_advantages`;
4. loss ``-mean_i A_i log pi(a_i | x_i)``, plus ``kl_coef * KL(pi || pi_init)`` (exact, over the
   classes) and ``source_ce_coef * CE`` on an interleaved labeled source batch. Its gradient is
   that of GRPO's clipped objective (:func:`emorl.rl.grpo.clipped_policy_loss`) with one action
   per utterance and one update per batch (``rho = 1``, clipping inactive).

Baselines in the same loop, with the same budget (steps, batches, optimiser): ``pseudo_label``
(cross-entropy on the argmax label of utterances whose confidence reaches ``threshold``, averaged
over the batch) and ``entropy_min`` (minimise the mean entropy of the posterior).

Per step, ``exp_dir/train_log.csv`` (and TensorBoard, ``exp_dir/tensorboard/``) gets: loss terms,
mean reward and mean of each reward component, selection rate (fraction of the batch that the
update uses: ``A_i > 0``, above threshold, or all), and, when the target labels are known,
pseudo-label accuracy over the batch and over the selected utterances. Those labels are for
analysis only: they never reach the loss.

Target data has no labels, so there is no model selection: the model after the last epoch is the
result. Checkpoints after every epoch (:class:`~emorl.train.CheckpointManager`); an interrupted
run resumed from its last checkpoint ends with the same model as an uninterrupted one (the
shuffling and sampling of each epoch depend only on the seed and the epoch); a checkpoint of other
options or inputs is not resumed.

Dropout is off while adapting (the policy runs in eval mode): the action and its reward come from
the same network that inference runs, and the KL to the initial model starts at exactly 0.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from emorl.rl.grpo import group_advantages
from emorl.rl.rewards import combine_rewards, parse_reward_spec
from emorl.ser.dataset import FeatsDataset, make_loader
from emorl.train import CheckpointManager, StepLogger

METHODS = ("bgrpo", "pseudo_label", "entropy_min")
ACTIONS = ("argmax", "sample")
#: Floor on the initial model's probabilities before the log in the KL term (float32 softmax can
#: underflow to exactly 0 for a very confident model).
MIN_PROB = 1e-30

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[str]]


@dataclass
class AdaptConfig:
    """The options of one adaptation run (the keys of ``conf/adapt/*.yaml``)."""

    method: str = "bgrpo"  # one of METHODS
    rewards: dict[str, float] = field(
        default_factory=lambda: {"self_max_prob": 1.0, "teacher_prob": 1.0}
    )
    action: str = "argmax"  # one of ACTIONS
    scale_std: bool = False  # divide advantages by the batch's reward std
    keep_negative: bool = False  # ablation: keep negative advantages (B-GRPO clips them at 0)
    std_eps: float = 1e-4  # added to the std when scale_std
    threshold: float = 0.9  # pseudo_label: minimum max-probability to use an utterance
    kl_coef: float = 0.0  # weight of KL(pi || pi_init)
    source_ce_coef: float = 0.0  # weight of cross-entropy on labeled source batches (0: none)
    epochs: int = 5  # 0: no update (a baseline: the initial model, after any renormalisation)
    batch_size: int = 32  # the group size
    source_batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float = 5.0  # max gradient norm (0: no clipping)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose from {METHODS}")
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; choose from {ACTIONS}")
        if self.action == "sample" and self.method != "bgrpo":
            raise ValueError(
                f"method {self.method!r} labels by argmax: action 'sample' is for bgrpo"
            )
        if self.batch_size < 2:
            raise ValueError(
                f"batch_size {self.batch_size}: B-GRPO's group is the batch, and a batch of one "
                "has no baseline (its mean reward is its own reward): use a batch size of 2 or more"
            )
        if self.epochs < 0:
            raise ValueError(f"epochs must be 0 (no update) or more, got {self.epochs}")
        self.rewards = parse_reward_spec(self.rewards)


def batch_advantages(
    rewards: torch.Tensor, scale_std: bool = False, keep_negative: bool = False, eps: float = 1e-4
) -> torch.Tensor:
    """B-GRPO advantages ``[B]`` of rewards ``[B]``: the batch is one group."""
    std_level = "group" if scale_std else None
    return group_advantages(
        rewards[None], std_level=std_level, eps=eps, keep_negative=keep_negative
    )[0]


def select_actions(
    probs: torch.Tensor, action: str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Class indices ``[B]`` from posteriors ``[B, C]``: argmax, or sampled."""
    if action == "argmax":
        return probs.argmax(dim=1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


def lookup(table: dict[str, np.ndarray], utts: list[str]) -> torch.Tensor:
    """Rows of a ``utt -> [C]`` table as a tensor ``[B, C]``."""
    return torch.from_numpy(np.stack([table[utt] for utt in utts]))


def _mean(values: torch.Tensor) -> float:
    return values.float().mean().item() if values.numel() else math.nan


def adaptation_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    config: AdaptConfig,
    teacher_probs: torch.Tensor | None = None,
    init_probs: torch.Tensor | None = None,
    source_batch: Batch | None = None,
    analysis_labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """One update on an unlabeled batch; returns the step's statistics.

    ``teacher_probs`` and ``init_probs``: ``[B, C]`` posteriors of the batch's utterances (teacher;
    initial model, for the KL). ``analysis_labels``: ``[B]`` true class ids (-1: unknown), used only
    for the accuracy statistics. The batch's own ``label_ids`` are ignored.
    """
    feats, lengths, _, utts = batch
    if len(utts) < 2:
        raise ValueError(f"batch {utts}: a group of one utterance has no baseline")
    device = next(model.parameters()).device
    model.eval()  # no dropout: see the module docstring
    logits = model(feats.to(device), lengths.to(device)).float()
    logprobs = F.log_softmax(logits, dim=-1)
    probs = logprobs.detach().exp()
    actions = select_actions(probs, config.action, generator)
    total, parts = combine_rewards(
        config.rewards,
        actions.cpu().numpy(),
        None,
        utts=utts,
        student_probs=probs.cpu().numpy(),
        teacher_probs=None if teacher_probs is None else teacher_probs.numpy(),
    )
    action_logprobs = logprobs.gather(1, actions[:, None])[:, 0]
    if config.method == "bgrpo":
        advantages = batch_advantages(
            torch.from_numpy(total).to(device),
            config.scale_std,
            config.keep_negative,
            config.std_eps,
        )
        selected = advantages > 0
        method_loss = -(advantages * action_logprobs).mean()
    elif config.method == "pseudo_label":
        selected = probs.max(dim=1).values >= config.threshold
        method_loss = -(action_logprobs * selected).mean()
    else:  # entropy_min
        selected = torch.ones_like(actions, dtype=torch.bool)
        method_loss = -(logprobs.exp() * logprobs).sum(dim=1).mean()
    loss = method_loss
    stats = {"method_loss": method_loss.item()}
    if config.kl_coef > 0:
        init_logprobs = init_probs.to(device).clamp(min=MIN_PROB).log()
        kl = (logprobs.exp() * (logprobs - init_logprobs)).sum(dim=1).mean()
        loss = loss + config.kl_coef * kl
        stats["kl"] = kl.item()
    if config.source_ce_coef > 0:
        source_feats, source_lengths, source_labels, _ = source_batch
        source_logits = model(source_feats.to(device), source_lengths.to(device)).float()
        source_ce = F.cross_entropy(source_logits, source_labels.to(device))
        loss = loss + config.source_ce_coef * source_ce
        stats["source_ce"] = source_ce.item()
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss is {loss.item()} on the batch of utterances {utts}")
    optimizer.zero_grad()
    loss.backward()
    if config.grad_clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    stats["loss"] = loss.item()
    stats["reward"] = float(total.mean())
    stats.update({f"reward_{name}": float(values.mean()) for name, values in parts.items()})
    stats["selection_rate"] = _mean(selected)
    if analysis_labels is not None:
        known = analysis_labels.to(device) >= 0
        correct = actions == analysis_labels.to(device)
        stats["pseudo_label_acc"] = _mean(correct[known])
        stats["selected_acc"] = _mean(correct[known & selected])
    return stats


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 100_003 + epoch


def _source_batches(loader, epoch: int) -> Iterator[Batch]:
    """Endless labeled source batches; the pass number and epoch fix each pass's order."""
    for repeat in range(1_000_000):
        loader.sampler.set_epoch(_epoch_seed(epoch, repeat))
        yield from loader


@dataclass
class AdaptData:
    """What :func:`adapt` learns from besides the model.

    ``teacher_table``/``init_table``: ``utt -> [C]`` posteriors of the teacher and of the initial
    model (needed for teacher rewards and for ``kl_coef > 0``). ``source``: labeled source data
    (needed for ``source_ce_coef > 0``). ``analysis_labels``: ``utt -> class id`` of target
    utterances whose label is known, for the accuracy statistics only.
    """

    unlabeled: FeatsDataset
    teacher_table: dict[str, np.ndarray] | None = None
    init_table: dict[str, np.ndarray] | None = None
    source: FeatsDataset | None = None
    analysis_labels: dict[str, int] | None = None


@dataclass
class AdaptRun:
    """Where and how one adaptation run is kept: its dir, seed and checkpoints.

    A checkpoint resumes the run (``resume``) only if it was made with the same ``options`` and
    ``fingerprint`` (the inputs: data, initial model, teacher; see :mod:`emorl.train.checkpoint`).
    """

    exp_dir: Path
    seed: int = 0
    resume: bool = False
    keep_checkpoints: int = 2
    options: dict = field(default_factory=dict)
    fingerprint: dict = field(default_factory=dict)


def _epoch_means(rows: list[dict]) -> dict[str, float]:
    means = {}
    for key in rows[-1]:
        values = [row[key] for row in rows if not math.isnan(row.get(key, math.nan))]
        means[key] = sum(values) / len(values) if values else math.nan
    return means


def adapt(model: nn.Module, data: AdaptData, config: AdaptConfig, run: AdaptRun) -> list[dict]:
    """Adapt ``model`` in place on ``data.unlabeled``; returns the per-step log rows.

    Writes ``run.exp_dir/checkpoints/epochNNN.{pt,json}`` (the last ``run.keep_checkpoints``),
    ``train_log.csv`` and ``tensorboard/``. A run resumes from its last checkpoint only with
    ``run.resume`` and the same options and inputs; otherwise earlier checkpoints are removed.
    """
    unlabeled, source = data.unlabeled, data.source
    if len(unlabeled) == 0:
        raise ValueError("the unlabeled set is empty: nothing to adapt on")
    if len(unlabeled) < 2:
        raise ValueError(
            f"the unlabeled set has one utterance ({unlabeled.utts}): a group needs at least 2"
        )
    if config.kl_coef > 0 and data.init_table is None:
        raise ValueError("kl_coef > 0 needs the initial model's posteriors")
    if config.source_ce_coef > 0 and source is None:
        raise ValueError(
            "source_ce_coef > 0 needs labeled source data (--source_data, --source_feats)"
        )
    exp_dir, seed = Path(run.exp_dir), run.seed
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    options = {**asdict(config), "seed": seed, **run.options}
    manager = CheckpointManager(exp_dir, options, run.fingerprint, run.keep_checkpoints)
    saved = manager.resume(run.resume)
    rows: list[dict] = []
    start = 1
    if saved is not None:
        saved.restore({"model": model, "optimizer": optimizer})
        rows, start = saved.meta["meta"]["rows"], saved.epoch + 1
    loader = make_loader(unlabeled, config.batch_size, shuffle=True, seed=seed)
    source_loader = None
    if config.source_ce_coef > 0:
        source_loader = make_loader(source, config.source_batch_size, shuffle=True, seed=seed + 1)
    step = len(rows)
    labels_known = data.analysis_labels or None
    with StepLogger(exp_dir, resume_after=None if saved is None else step) as log:
        for epoch in range(start, config.epochs + 1):
            generator = torch.Generator(device=device).manual_seed(_epoch_seed(seed, epoch))
            loader.sampler.set_epoch(epoch)
            sources = _source_batches(source_loader, epoch) if source_loader is not None else None
            for batch in tqdm(loader, desc=f"adapt epoch {epoch}", leave=False, disable=None):
                utts = batch[3]
                if len(utts) < 2:
                    logging.warning(
                        "skipping the last batch of epoch %d: one utterance has no baseline", epoch
                    )
                    continue
                stats = adaptation_step(
                    model,
                    optimizer,
                    batch,
                    config,
                    teacher_probs=(
                        lookup(data.teacher_table, utts) if data.teacher_table is not None else None
                    ),
                    init_probs=lookup(data.init_table, utts) if config.kl_coef > 0 else None,
                    source_batch=next(sources) if sources is not None else None,
                    analysis_labels=(
                        torch.tensor([labels_known.get(u, -1) for u in utts])
                        if labels_known
                        else None
                    ),
                    generator=generator,
                )
                step += 1
                rows.append({"epoch": epoch, "step": step, **stats})
                log.log(rows[-1])
            means = _epoch_means([row for row in rows if row["epoch"] == epoch])
            logging.info(
                "epoch %d: %s",
                epoch,
                ", ".join(f"{k} {v:.4f}" for k, v in means.items() if k not in ("epoch", "step")),
            )
            manager.save({"model": model, "optimizer": optimizer}, epoch=epoch, meta={"rows": rows})
    return rows
