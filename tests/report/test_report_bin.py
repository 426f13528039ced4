"""Stage 8 (emorl.bin.report) and utils/show_results.sh on fake exp dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_exp import make_exp, write_scores, write_task_scores

from emorl.bin import report
from emorl.report.results import END, START

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def recipes(tmp_path) -> tuple[Path, Path]:
    a = tmp_path / "egs/corpus_a/emo1"
    b = tmp_path / "egs/corpus_b/emo1"
    make_exp(a / "exp")
    make_exp(b / "exp", shift=0.1)
    return a, b


def test_report_writes_the_readme_block_and_plots(recipes, capsys):
    a, b = recipes
    readme = a / "README.md"
    readme.write_text(f"# corpus_a\n\n{START}\nstale\n{END}\n\nfooter\n")
    report.main(["--exp_dir", str(a / "exp"), "--readme", str(readme), "--compare", str(b)])
    text = readme.read_text()
    assert text.startswith("# corpus_a\n\n" + START) and text.endswith(END + "\n\nfooter\n")
    assert "stale" not in text and text.count(START) == 1
    assert "| fbank | ser | ser | src_test | 3 | 50.0 ± 2.0 |" in text
    assert "### Comparison across recipes" in text
    assert "| upstream | method | config | eval set | corpus_a/emo1 | corpus_b/emo1 |" in text
    assert "| fbank | ser | ser | src_test | 50.0 / 50.0 | 60.0 / 50.0 |" in text
    assert "- exp/plots/fbank_ser_ser.png" in text
    assert (a / "exp/plots/fbank_adapt_bgrpo.png").is_file()
    assert capsys.readouterr().out.strip() == text[text.index(START) : text.index(END) + len(END)]


def test_report_lists_unknown_kinds_and_goes_on(tmp_path, capsys):
    exp = tmp_path / "egs/corpus_a/emo1/exp"
    for fold, ua in ((1, 0.5), (2, 0.7)):
        write_scores(exp / f"fold{fold}/fbank/ser_ser/seed1/decode_fold{fold}_test", ua, ua, ua, ua)
    write_task_scores(exp / "lalm/qa_sft/seed1/decode_test", "qa", accuracy=50.0)
    report.main(["--exp_dir", str(exp), "--plots", "false"])
    out = capsys.readouterr().out
    assert "| fbank | ser | ser | test | mean of 2 | 1 | 60.0 ± 14.1 |" in out
    assert "| method | config | eval set | fbank |" in out and "fold1/fbank" not in out
    assert f"- `{exp}/lalm/qa_sft/seed1/decode_test/scores.json`: task `qa`" in out


def test_show_results_prints_and_writes_nothing(recipes):
    a, b = recipes
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    out = subprocess.run(
        [str(REPO / "utils/show_results.sh"), str(a), str(b)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert "| whisper_tiny.en | ser | ser | tgt_test | 3 | 50.0 ± 2.0 |" in out
    assert "corpus_b/emo1" in out
    assert not (a / "README.md").exists() and not (a / "exp/plots").exists()
    failed = subprocess.run(
        [str(REPO / "utils/show_results.sh"), str(a / "nothing")], capture_output=True, text=True
    )
    assert failed.returncode == 1 and "no such directory" in failed.stderr
