"""Confusion-matrix and training-curve plots."""

from __future__ import annotations

from fake_exp import write_curve

from emorl.metrics.ser import ser_scores
from emorl.report.plots import plot_confusion, plot_curves, read_curve
from emorl.report.results import plot_training_curves

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
    pngs = plot_training_curves(exp_dir, tmp_path / "plots")
    assert [p.name for p in pngs] == [
        "fbank_adapt_bgrpo.png",
        "fbank_ser_ser.png",
        "whisper_tiny.en_ser_ser.png",
    ]
    assert all(p.read_bytes()[:8] == PNG for p in pngs)
