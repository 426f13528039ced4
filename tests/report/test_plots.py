"""Confusion-matrix and training-curve plots."""

from __future__ import annotations

import pytest
from fake_exp import write_curve

from emorl.metrics.ser import ser_scores
from emorl.report.plots import (
    plot_confusion,
    plot_curves,
    plot_grpo_comparison,
    read_curve,
    seed_mean,
)
from emorl.report.results import plot_training_curves, training_logs

PNG = b"\x89PNG\r\n\x1a\n"


def test_confusion_png(tmp_path):
    scores = ser_scores({"u1": "a", "u2": "b", "u3": "b"}, {"u1": "a", "u2": "a", "u3": "b"})
    plot_confusion(scores, tmp_path / "confusion.png", title="decode_test")
    assert (tmp_path / "confusion.png").read_bytes()[:8] == PNG


def test_curves_plot_every_numeric_column_against_epoch_or_step(tmp_path):
    write_curve(tmp_path / "a", "epoch,train_loss,dev_ua,note", ["1,1.0,0.3,x", "2,0.8,0.5,y"])
    write_curve(tmp_path / "b", "epoch,train_loss,dev_ua,note", ["1,1.1,0.2,x"])
    assert list(read_curve(tmp_path / "a" / "train_log.csv")) == ["epoch", "train_loss", "dev_ua"]
    columns = plot_curves(
        {"a": tmp_path / "a/train_log.csv", "b": tmp_path / "b/train_log.csv"}, tmp_path / "c.png"
    )
    assert columns == ["train_loss", "dev_ua"]
    assert (tmp_path / "c.png").read_bytes()[:8] == PNG


def test_one_plot_per_experiment_with_rows(exp_dir, tmp_path):
    write_curve(exp_dir / "fbank" / "adapt_fresh" / "seed1", "step,loss", [])  # nothing logged yet
    pngs = plot_training_curves(training_logs(exp_dir), tmp_path / "plots")
    assert [p.name for p in pngs] == [
        "fbank_adapt_bgrpo.png",
        "fbank_ser_ser.png",
        "whisper_tiny.en_ser_ser.png",
    ]
    assert all(p.read_bytes()[:8] == PNG for p in pngs)


def test_grpo_runs_are_compared_in_one_figure_averaged_over_seeds(tmp_path):
    header = "step,reward,kl,format_valid,answer_words"
    write_curve(tmp_path / "lalm_ew" / "seed1", header, ["1,0.2,0,1,2", "2,0.4,0.1,1,3"])
    write_curve(
        tmp_path / "lalm_ew" / "seed2", header, ["1,0.4,0,1,2", "2,0.6,0.1,1,5", "3,1,1,1,1"]
    )
    write_curve(tmp_path / "lalm_ew_p1" / "seed1", header, ["1,0.1,0,1,1", "2,0.2,0.1,1,1"])
    write_curve(tmp_path / "ser" / "seed1", "epoch,train_loss", ["1,1.0"])
    mean = seed_mean([tmp_path / "lalm_ew" / f"seed{s}" / "train_log.csv" for s in (1, 2)])
    assert mean["step"].tolist() == [1, 2]  # the steps both seeds logged
    assert mean["reward"].tolist() == pytest.approx([0.3, 0.5]) and mean["answer_words"][1] == 4
    pngs = plot_training_curves(training_logs(tmp_path), tmp_path / "plots")
    assert [p.name for p in pngs] == [
        "lalm_ew.png", "lalm_ew_p1.png", "ser.png", "grpo_comparison.png"
    ]  # fmt: skip
    assert pngs[-1].read_bytes()[:8] == PNG
    columns = plot_grpo_comparison(
        {"ew": [tmp_path / "lalm_ew" / "seed1" / "train_log.csv"]}, tmp_path / "one.png"
    )
    assert columns == ["reward", "answer_words", "kl", "format_valid"]  # those the logs have


def test_a_single_grpo_experiment_gets_no_comparison_figure(tmp_path):
    write_curve(tmp_path / "lalm_ew" / "seed1", "step,reward,kl,format_valid", ["1,0.2,0,1"])
    pngs = plot_training_curves(training_logs(tmp_path), tmp_path / "plots")
    assert [p.name for p in pngs] == ["lalm_ew.png"]
