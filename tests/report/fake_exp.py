"""Fake exp dirs for report tests: scores.json and train_log.csv as stages 3 and 4 lay them out."""

from __future__ import annotations

import json
from pathlib import Path


def write_scores(
    decode_dir: Path, ua: float, wa: float, macro_f1: float, weighted_f1: float, num_utts: int = 100
):
    decode_dir.mkdir(parents=True, exist_ok=True)
    scores = {
        "ua": ua,
        "wa": wa,
        "macro_f1": macro_f1,
        "weighted_f1": weighted_f1,
        "num_utts": num_utts,
    }
    (decode_dir / "scores.json").write_text(json.dumps({**scores, "per_class": {}, "unmapped": {}}))


def write_task_scores(decode_dir: Path, task: str, **scores):
    """A scores.json of another kind (``"task"``: ``cap``, ``ov``, ...) with the given metrics."""
    decode_dir.mkdir(parents=True, exist_ok=True)
    (decode_dir / "scores.json").write_text(json.dumps({"task": task, **scores}))


def write_curve(run_dir: Path, header: str, rows: list[str]):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "train_log.csv").write_text("\n".join([header] + rows) + "\n")


def make_exp(exp: Path, shift: float = 0.0) -> Path:
    """fbank and whisper_tiny.en, supervised (3 seeds) and B-GRPO (2 seeds), two eval sets."""
    for upstream, base in (("fbank", 0.50), ("whisper_tiny.en", 0.70)):
        for seed, delta in ((1, -0.02), (2, 0.0), (3, 0.02)):
            run = exp / upstream / "ser_ser" / f"seed{seed}"
            write_scores(run / "decode_src_test", base + delta + shift, 0.6, base, 0.6, 120)
            write_scores(run / "decode_tgt_test", base - 0.2 + delta, 0.4, base - 0.2, 0.4, 90)
            header = "epoch,train_loss,dev_loss,dev_ua,dev_wa,dev_macro_f1,lr"
            write_curve(
                run,
                header,
                [f"1,1.5,1.4,{base - 0.1},0.5,0.4,0.001", f"2,1.2,1.3,{base},0.6,0.5,0.001"],
            )
    for seed, ua in ((1, 0.36), (2, 0.40)):
        run = exp / "fbank" / "adapt_bgrpo" / f"seed{seed}"
        write_scores(run / "decode_tgt_test", ua, 0.5, 0.35, 0.45, 90)
        write_curve(run, "step,loss,reward_self,selection_rate", ["1,0.5,0.6,0.4", "2,0.4,0.7,0.5"])
    return exp
