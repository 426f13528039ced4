"""bench/grpo_step.py runs both trainers on a tiny model and ends with its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lalm"))
from lalm_fixtures import TEXTS, TINY_TEXT, save_tiny_whisper  # noqa: E402

from emorl.lalm.model import AudioLM  # noqa: E402


@pytest.mark.slow
def test_bench_times_emorl_and_trl(tmp_path):
    pytest.importorskip("trl")
    whisper = save_tiny_whisper(tmp_path / "whisper.pt")
    AudioLM.build_mini(TEXTS, whisper_checkpoint=whisper, vocab_size=400, **TINY_TEXT).save(
        tmp_path / "model"
    )
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "grpo_step.py"),
         "--model_dir", str(tmp_path / "model"), "--steps", "1", "--warmup", "0",
         "--clip_seconds", "1", "--threads", "1"],
        capture_output=True, text=True, check=True, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["emorl_sec_per_step"] > 0 and result["trl_sec_per_step"] > 0
    assert result["speedup"] == pytest.approx(
        result["trl_sec_per_step"] / result["emorl_sec_per_step"], rel=0.01
    )
    assert result["completion_tokens"] == 32 and result["group_size"] == 4
