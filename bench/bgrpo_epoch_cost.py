"""Cost of one B-GRPO adaptation epoch against one supervised epoch on the same data (<= 1.5x).

Random frame-level features in memory, the stage-3 classifier (statistics pooling + MLP), the same
batch size and optimiser for both. The supervised epoch is stage 3's step (forward, cross-entropy,
backward, Adam); each adaptation epoch runs :func:`emorl.rl.bgrpo.adapt` for one epoch (rewards,
logs and checkpoint included). Stage 4 also makes one posterior pass of the frozen teacher /
initial model over the unlabeled set before its first epoch: that pass has its own row, and the
last column spreads it over the ``--epochs`` of a run (the recipe's configs: 5).

Each time is the median of ``--repeats`` rounds, each round running every variant once. On CPU the
clock is this process's CPU time with one torch thread (``--clock cpu``), which the load of other
processes on a shared machine barely changes; ``--clock wall`` (the default on GPU) measures
elapsed time.

Usage:
    python bench/bgrpo_epoch_cost.py [--num_utts 2000] [--frames 200] [--dim 80] [--device cpu]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

from emorl.rl.bgrpo import AdaptConfig, AdaptData, AdaptRun, adapt
from emorl.ser.dataset import FeatsDataset, make_loader
from emorl.ser.infer import predict_posteriors
from emorl.ser.model import SERClassifier

VARIANTS = {
    "bgrpo self": {"rewards": {"self_max_prob": 1.0}},
    "bgrpo self+teacher": {"rewards": {"self_max_prob": 1.0, "teacher_prob": 1.0}},
    "bgrpo self+teacher, kl": {
        "rewards": {"self_max_prob": 1.0, "teacher_prob": 1.0},
        "kl_coef": 0.1,
    },
    "pseudo_label": {"method": "pseudo_label", "rewards": {"self_max_prob": 1.0}},
    "entropy_min": {"method": "entropy_min", "rewards": {"self_max_prob": 1.0}},
}


def supervised_epoch(model, dataset, batch_size, lr, device) -> None:
    """Stage 3's training step over one epoch (written out here: the cost reference)."""
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for x, lengths, y, _ in make_loader(dataset, batch_size, shuffle=True, seed=0):
        loss = F.cross_entropy(model(x.to(device), lengths.to(device)), y.to(device))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()


def timed(fn, clock: str) -> float:
    """Seconds of ``fn()``: CPU time of this process, or elapsed time (GPU work waited for)."""
    now = time.process_time if clock == "cpu" else time.perf_counter
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = now()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return now() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--num_utts", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=200, help="mean frames per utterance")
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--dim", type=int, default=80)
    parser.add_argument("--num_classes", type=int, default=6)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument(
        "--epochs", type=int, default=5, help="epochs the teacher pass is spread over"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--clock", choices=("cpu", "wall"), help="default: cpu on CPU, else wall")
    args = parser.parse_args()
    args.clock = args.clock or ("cpu" if args.device == "cpu" else "wall")
    if args.clock == "cpu":
        torch.set_num_threads(1)
    logging.disable(logging.WARNING)

    rng = np.random.default_rng(0)
    feats, labels = {}, {}
    for i in range(args.num_utts):
        frames = int(rng.integers(args.frames // 2, 3 * args.frames // 2))
        feats[f"utt{i:06d}"] = rng.normal(size=(frames, args.layers, args.dim)).astype(np.float32)
        labels[f"utt{i:06d}"] = str(i % args.num_classes)
    labeled = FeatsDataset(feats, labels, [str(c) for c in range(args.num_classes)])
    unlabeled = FeatsDataset(feats)
    uniform = np.full(args.num_classes, 1 / args.num_classes, np.float32)
    table = dict.fromkeys(feats, uniform)  # stands for the teacher's posteriors

    def new_model():
        torch.manual_seed(0)
        model = SERClassifier(args.dim, args.layers, args.num_classes, hidden_dims=[256])
        return model.to(args.device)

    def adapt_epoch(config: AdaptConfig) -> None:
        with tempfile.TemporaryDirectory() as exp_dir:
            adapt(new_model(), AdaptData(unlabeled, table, table), config, AdaptRun(exp_dir))

    runs = {
        "supervised (stage 3)": lambda: supervised_epoch(
            new_model(), labeled, args.batch_size, 1e-3, args.device
        )
    }
    for name, options in VARIANTS.items():
        config = AdaptConfig(epochs=1, batch_size=args.batch_size, **options)
        runs[name] = lambda config=config: adapt_epoch(config)
    teacher_pass = "teacher posterior pass (once per run)"
    runs[teacher_pass] = lambda: predict_posteriors(new_model(), feats)
    times = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            times[name].append(timed(fn, args.clock))
    seconds = {name: statistics.median(values) for name, values in times.items()}

    reference = seconds["supervised (stage 3)"]
    spread = seconds[teacher_pass] / args.epochs
    print(
        f"{args.num_utts} utterances x ~{args.frames} frames x {args.layers} layer(s) x "
        f"{args.dim} dims, batch {args.batch_size}, device {args.device}, "
        f"torch threads {torch.get_num_threads()}, {args.clock} clock, median of {args.repeats}"
    )
    amortised = f"x sup., pass / {args.epochs} ep."
    print(f"| {'epoch':<38} | {'seconds':>8} | {'x supervised':>12} | {amortised:>22} |")
    print(f"|{'-' * 40}|{'-' * 10}|{'-' * 14}|{'-' * 24}|")
    for name, value in seconds.items():
        with_pass = f"{(value + spread) / reference:22.2f}" if name in VARIANTS else " " * 22
        print(f"| {name:<38} | {value:8.2f} | {value / reference:12.2f} | {with_pass} |")
    worst = max(seconds[name] for name in VARIANTS) / reference
    worst_with_pass = max(seconds[name] + spread for name in VARIANTS) / reference
    verdict = "PASS" if worst <= 1.5 else "FAIL"
    print(
        f"worst adaptation epoch {worst:.2f}x supervised (target <= 1.5: {verdict}); "
        f"{worst_with_pass:.2f}x with the teacher pass spread over {args.epochs} epochs"
    )


if __name__ == "__main__":
    main()
