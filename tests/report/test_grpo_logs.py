"""The reward-stability table of audio-LM GRPO runs, on hand-made training logs."""

from __future__ import annotations

import numpy as np
from fake_exp import write_curve

from emorl.bin import report
from emorl.report.grpo_logs import stability_row, stability_section, window

HEADER = "step,reward,kl,format_valid,accuracy"


def log(run_dir, rewards, accuracies, kl="0.01"):
    rows = [f"{i + 1},{r},{kl},1,{a}" for i, (r, a) in enumerate(zip(rewards, accuracies))]
    write_curve(run_dir, HEADER, rows)
    return run_dir / "train_log.csv"


def test_window_is_a_quarter_of_the_steps_and_at_least_five():
    assert [window(n) for n in (3, 8, 20, 40, 60, 150)] == [3, 5, 5, 10, 15, 38]


def test_first_and_last_steps_and_the_spread_over_the_last(tmp_path):
    # 20 steps -> window 5. Seed 1: reward 0.5 for 15 steps, then 1,0,1,0,1; seed 2: 0.2, then 0.8.
    one = log(tmp_path / "s1", [0.5] * 15 + [1, 0, 1, 0, 1], [0.4] * 20)
    two = log(tmp_path / "s2", [0.2] * 15 + [0.8] * 5 + [9.9], [0.5] * 15 + [0.7] * 6)
    row = stability_row("lalm_eswr", [one, two])
    spread_one = np.std([1, 0, 1, 0, 1], ddof=1)  # 0.548; seed 2 has none
    assert row[:4] == ["lalm_eswr", "2", "20", "5"]  # the steps both seeds logged
    assert row[4] == "0.35 ± 0.21 → 0.70 ± 0.14"  # first (0.5, 0.2), last (0.6, 0.8)
    assert row[5] == f"{spread_one / 2:.3f} ± {np.std([spread_one, 0], ddof=1):.3f}"
    assert row[6] == "0.45 ± 0.07 → 0.55 ± 0.21" and row[7] == "0.000 ± 0.000"


def test_one_seed_shows_plain_numbers_and_a_log_without_accuracy_shows_dashes(tmp_path):
    path = tmp_path / "s1" / "train_log.csv"
    write_curve(tmp_path / "s1", "step,reward,kl,format_valid", ["1,0.1,0,1", "2,0.3,0,1"])
    assert stability_row("x", [path]) == ["x", "1", "2", "2", "0.20 → 0.20", "0.141", "-", "-"]
    write_curve(tmp_path / "s2", "step,reward,kl,format_valid", [])  # nothing logged yet
    assert stability_row("y", [tmp_path / "s2" / "train_log.csv"]) is None
    assert stability_section({"y": [tmp_path / "s2" / "train_log.csv"]}) == ""


def test_the_report_has_the_section_for_grpo_runs_only(tmp_path, capsys):
    exp = tmp_path / "exp"
    log(exp / "lalm_mini_sft_esr_grpo_acc" / "seed1", [0, 1] * 10, [0, 1] * 10)
    # beta 0: no reference model, an empty kl column
    log(exp / "lalm_mini_sft_esr_grpo_eswr" / "seed1", [0.5] * 20, [0.5] * 20, kl="")
    write_curve(exp / "lalm_mini_sft_esr" / "seed1", "step,loss,dev_accuracy", ["1,2.0,0.5"])
    report.main(["--exp_dir", str(exp), "--plots", "false"])
    out = capsys.readouterr().out
    assert "### GRPO training: reward at the end and its stability" in out
    acc = f"{np.std([1, 0, 1, 0, 1], ddof=1):.3f}"
    assert f"| lalm_mini_sft_esr_grpo_acc | 1 | 20 | 5 | 0.40 → 0.60 | {acc} |" in out
    assert "| lalm_mini_sft_esr_grpo_eswr | 1 | 20 | 5 | 0.50 → 0.50 | 0.000 |" in out
    assert "| lalm_mini_sft_esr |" not in out.split("### GRPO training")[1]
