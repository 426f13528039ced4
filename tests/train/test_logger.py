"""StepLogger: train_log.csv appended without duplicate steps on resume, TensorBoard events."""

import csv
import math

from emorl.train import StepLogger


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_events(tb_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tb_dir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_csv_and_tensorboard(tmp_path):
    with StepLogger(tmp_path) as log:
        log.log({"step": 1, "loss": 0.5, "acc": math.nan})
        log.log({"step": 2, "loss": 0.25, "acc": 0.75})
    assert read_csv(tmp_path / "train_log.csv") == [
        {"step": "1", "loss": "0.5", "acc": ""},
        {"step": "2", "loss": "0.25", "acc": "0.75"},
    ]
    events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    scalars = read_events(tmp_path / "tensorboard")
    assert scalars["loss"] == [(1, 0.5), (2, 0.25)]
    assert scalars["acc"] == [(2, 0.75)]  # NaN is not an event


def test_resume_drops_rows_after_the_checkpoint(tmp_path):
    with StepLogger(tmp_path, index="epoch") as log:
        for epoch in (1, 2, 3):
            log.log({"epoch": epoch, "loss": 1.0 / epoch})
    with open(tmp_path / "train_log.csv", "a") as f:
        f.write("4,0.2")  # a half-written row of a killed run
    with StepLogger(tmp_path, index="epoch", resume_after=2) as log:
        log.log({"epoch": 3, "loss": 0.3})
    rows = read_csv(tmp_path / "train_log.csv")
    assert [(r["epoch"], r["loss"]) for r in rows] == [("1", "1"), ("2", "0.5"), ("3", "0.3")]
    assert [step for step, _ in read_events(tmp_path / "tensorboard")["loss"]] == [1, 2, 3]


def test_fresh_start_removes_the_old_log(tmp_path):
    with StepLogger(tmp_path) as log:
        log.log({"step": 1, "loss": 1.0})
    with StepLogger(tmp_path) as log:
        log.log({"step": 1, "other": 2.0})
    assert read_csv(tmp_path / "train_log.csv") == [{"step": "1", "other": "2"}]


def test_a_new_column_extends_the_header(tmp_path):
    with StepLogger(tmp_path) as log:
        log.log({"step": 1, "loss": 1.0})
        log.log({"step": 2, "loss": 0.5, "kl": 0.1})
    assert read_csv(tmp_path / "train_log.csv") == [
        {"step": "1", "loss": "1", "kl": ""},
        {"step": "2", "loss": "0.5", "kl": "0.1"},
    ]
