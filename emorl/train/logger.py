"""Per-step training logs: ``train_log.csv`` and TensorBoard events, as ESPnet and icefall write."""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import shutil
from pathlib import Path

from emorl.atomic import atomic_write


def _cell(value) -> object:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value


class StepLogger:
    """Rows of numbers per step (or epoch: ``index``) to ``<exp_dir>/train_log.csv`` and to
    TensorBoard under ``<exp_dir>/tensorboard/``.

    ``resume_after``: the last step already done by the checkpoint the run continues from; rows
    after it (logged before an interruption) are dropped, so no step appears twice. None starts a
    fresh log. Floats are written with 6 significant digits, NaN as an empty cell. Only the main
    process of a distributed job should log.
    """

    def __init__(
        self, exp_dir: str | os.PathLike, index: str = "step", resume_after: int | None = None
    ):
        exp_dir = Path(exp_dir)
        self.path = exp_dir / "train_log.csv"
        self.index = index
        self.columns: list[str] = []
        tb_dir = exp_dir / "tensorboard"
        if resume_after is None:
            self.path.unlink(missing_ok=True)
            shutil.rmtree(tb_dir, ignore_errors=True)
        elif self.path.is_file():
            self._truncate(resume_after)
        from torch.utils.tensorboard import SummaryWriter  # slow to import: only when logging

        self.writer = SummaryWriter(
            log_dir=str(tb_dir), purge_step=None if resume_after is None else resume_after + 1
        )

    def _truncate(self, last: int) -> None:
        with open(self.path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = [row for row in reader if header and len(row) == len(header)]
        if not header or self.index not in header:
            logging.warning("%s: no %r column; starting a new log", self.path, self.index)
            self.path.unlink()
            return
        at = header.index(self.index)
        kept = [row for row in rows if row[at].isdigit() and int(row[at]) <= last]
        self.columns = header
        self._rewrite(kept)

    def _rewrite(self, rows: list[list]) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(rows)
        with atomic_write(self.path) as f:
            f.write(buffer.getvalue())

    def log(self, row: dict) -> None:
        """Append one row (``row[index]`` is the step); a new column rewrites the header."""
        if self.index not in row:
            raise KeyError(f"a row of {self.path} needs {self.index!r}, got {sorted(row)}")
        new = [key for key in row if key not in self.columns]
        if new:
            old_rows = []
            if self.path.is_file():
                with open(self.path, newline="") as f:
                    old = list(csv.DictReader(f))
                old_rows = [[r.get(c, "") for c in self.columns + new] for r in old]
            self.columns = self.columns + new
            self._rewrite(old_rows)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(
            [_cell(row.get(column, "")) for column in self.columns]
        )
        with open(self.path, "a") as f:
            f.write(buffer.getvalue())
        step = int(row[self.index])
        for key, value in row.items():
            if key == self.index or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isfinite(value):
                self.writer.add_scalar(key, value, global_step=step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> StepLogger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
