"""Paired differences of adaptation runs, on hand-made scores."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
import yaml
from fake_exp import write_scores, write_task_scores

from emorl.bin import report
from emorl.report.paired import paired_interval, paired_rows, paired_section, paired_table
from emorl.report.results import collect_runs

T_975_2DF = 4.302652729911275  # Student's t, 97.5% quantile, 2 degrees of freedom


def test_paired_interval_is_the_paired_t_interval():
    interval = paired_interval([0.01, 0.02, 0.03])
    half = T_975_2DF * 0.01 / math.sqrt(3)
    assert interval.mean == pytest.approx(0.02) and interval.n == 3
    assert (interval.low, interval.high) == pytest.approx((0.02 - half, 0.02 + half))
    assert interval.format() == "+2.0 [-0.5, +4.5]"
    assert paired_interval([0.05, 0.05]).format() == "+5.0 [+5.0, +5.0]"  # no spread
    one = paired_interval([-0.012])
    assert (one.low, one.high, one.n) == (None, None, 1) and one.format() == "-1.2"
    with pytest.raises(ValueError, match="no differences"):
        paired_interval([])


def adapt_run(exp: Path, config: str, seed: int, ua: float, wa: float, init: str, epochs=5):
    run = exp / "fbank" / f"adapt_{config}" / f"seed{seed}"
    write_scores(run / "decode_tgt_test", ua, wa, 0.0, 0.0, 90)
    (run / "config.yaml").write_text(yaml.safe_dump({"init_model": init, "epochs": epochs}))


def make_adapt_exp(exp: Path) -> Path:
    """Source-only UA .50/.52/.54 on 3 seeds; target_norm +.05/+.06/+.06 over it; bgrpo
    +.06/+.08/+.07 over it (+.01/+.02/+.01 over target_norm). WA moves by half as much."""
    for seed, ua in ((1, 0.50), (2, 0.52), (3, 0.54)):
        write_scores(exp / "fbank" / "ser_ser" / f"seed{seed}" / "decode_tgt_test", ua, ua, 0, 0)
        init = f"exp/fbank/ser_ser/seed{seed}"  # as the recipe writes it: relative to its dir
        norm, bgrpo = {1: (0.05, 0.06), 2: (0.06, 0.08), 3: (0.06, 0.07)}[seed]
        adapt_run(exp, "target_norm", seed, ua + norm, ua + norm / 2, init, epochs=0)
        adapt_run(exp, "bgrpo", seed, ua + bgrpo, ua + bgrpo / 2, init)
    return exp


def test_paired_rows_pair_each_seed_with_its_initial_model_and_no_update_run(tmp_path):
    exp = make_adapt_exp(tmp_path / "exp")
    rows = {r.config: r for r in paired_rows(collect_runs(exp), exp)}
    assert sorted(rows) == ["bgrpo", "target_norm"]
    bgrpo = rows["bgrpo"]
    assert (bgrpo.upstream, bgrpo.eval_set) == ("fbank", "tgt_test")
    half = T_975_2DF * 0.01 / math.sqrt(3)
    assert bgrpo.to_init["ua"].mean == pytest.approx(0.07)
    assert bgrpo.to_init["ua"].high == pytest.approx(0.07 + half)
    assert bgrpo.to_init["wa"].mean == pytest.approx(0.035)
    to_norm = bgrpo.to_no_update["ua"]  # differences .01, .02, .01
    assert to_norm.mean == pytest.approx(0.04 / 3)
    half_norm = T_975_2DF * statistics.stdev([0.01, 0.02, 0.01]) / math.sqrt(3)
    assert to_norm.high - to_norm.mean == pytest.approx(half_norm)
    assert to_norm.low < 0 < to_norm.high  # within noise
    assert rows["target_norm"].to_no_update == {}  # not compared with itself
    table = paired_table(list(rows.values()))
    assert "| fbank | bgrpo | tgt_test | 3 | +7.0 [+4.5, +9.5] | +1.3 [-0.1, +2.8] |" in table


def test_pairs_follow_init_model_not_names_and_skip_what_cannot_pair(tmp_path, caplog):
    exp = make_adapt_exp(tmp_path / "exp")
    # A few-label model of seed 1 and its adaptation: paired with it, not with ser_ser.
    write_scores(exp / "fbank" / "ser_ser_lab0.1" / "seed1" / "decode_tgt_test", 0.3, 0.3, 0, 0)
    adapt_run(exp, "bgrpo_lab0.1", 1, 0.34, 0.3, "/somewhere/exp/fbank/ser_ser_lab0.1/seed1")
    adapt_run(exp, "orphan", 1, 0.9, 0.9, "exp/fbank/ser_other/seed1")
    write_scores(exp / "fbank" / "adapt_noconf" / "seed1" / "decode_tgt_test", 0.9, 0.9, 0, 0)
    rows = {r.config: r for r in paired_rows(collect_runs(exp), exp)}
    assert sorted(rows) == ["bgrpo", "bgrpo_lab0.1", "target_norm"]
    few = rows["bgrpo_lab0.1"]
    assert few.to_init["ua"].mean == pytest.approx(0.04) and few.to_init["ua"].n == 1
    assert few.to_no_update == {}
    assert "ser_other/seed1 has no score on tgt_test" in caplog.text
    assert "adapt_noconf/seed1: no config.yaml" in caplog.text


def test_report_block_has_the_paired_section(tmp_path, capsys):
    exp = make_adapt_exp(tmp_path / "exp")
    runs = collect_runs(exp)
    assert paired_section([r for r in runs if r.method == "ser"], exp) == ""
    report.main(["--exp_dir", str(exp), "--plots", "false"])
    out = capsys.readouterr().out
    assert "### Adaptation and GRPO: paired differences over seeds" in out
    assert "+7.0 [+4.5, +9.5]" in out


def test_audio_lm_grpo_runs_pair_with_their_sft_model(tmp_path):
    """GRPO UA +.04/+.02/-.01 over the SFT model of its seed; the SFT runs (config.yaml without
    init_model) and a GRPO run whose SFT model has no score are not rows."""
    exp = tmp_path / "exp"
    for seed, ua, delta in ((1, 0.60, 0.04), (2, 0.70, 0.02), (3, 0.58, -0.01)):
        sft = exp / "lalm_mini_sft_esr" / f"seed{seed}"
        write_scores(sft / "decode_src_test", ua, ua, 0, 0)
        (sft / "config.yaml").write_text(yaml.safe_dump({"lr": 0.002}))
        grpo = exp / "lalm_mini_sft_esr_grpo_eswr" / f"seed{seed}"
        write_scores(grpo / "decode_src_test", ua + delta, ua, 0, 0)
        init = f"exp/lalm_mini_sft_esr/seed{seed}/model"
        (grpo / "config.yaml").write_text(yaml.safe_dump({"init_model": init}))
    orphan = exp / "lalm_mini_sft_think_grpo_acc" / "seed1"
    write_scores(orphan / "decode_src_test", 0.9, 0.9, 0, 0)
    (orphan / "config.yaml").write_text(yaml.safe_dump({"init_model": "exp/nowhere/seed1/model"}))
    rows = paired_rows(collect_runs(exp), exp)
    assert [(r.upstream, r.config, r.eval_set) for r in rows] == [
        ("-", "mini_sft_esr_grpo_eswr", "src_test")
    ]
    ua = rows[0].to_init["ua"]
    assert (ua.n, ua.mean) == (3, pytest.approx(0.05 / 3))
    assert ua.low < 0 < ua.high and rows[0].to_no_update == {}
    assert rows[0].to_init["wa"].mean == pytest.approx(0.0)


def test_captioning_grpo_runs_pair_on_emo_f1_and_distinct2_in_their_own_section(tmp_path):
    """Caption scores are stored in %: emo-F1 +6/+3/-3 and distinct-2 -0.5 on each seed are shown
    as they are, in a section of their own beside the SER one."""
    exp = tmp_path / "exp"
    for seed, f1, delta in ((1, 40.0, 6.0), (2, 45.0, 3.0), (3, 50.0, -3.0)):
        sft = exp / "lalm_mini_sft_answer" / f"seed{seed}"
        write_task_scores(sft / "decode_src_test", "cap", emo_f1=f1, distinct2=5.0)
        grpo = exp / "lalm_mini_sft_answer_grpo_emo" / f"seed{seed}"
        write_task_scores(grpo / "decode_src_test", "cap", emo_f1=f1 + delta, distinct2=4.5)
        init = f"exp/lalm_mini_sft_answer/seed{seed}/model"
        (grpo / "config.yaml").write_text(yaml.safe_dump({"init_model": init}))
    adapt_run(exp, "bgrpo", 1, 0.6, 0.6, "exp/fbank/ser_ser/seed1/model")
    write_scores(exp / "fbank" / "ser_ser" / "seed1" / "decode_tgt_test", 0.5, 0.5, 0, 0)
    runs = collect_runs(exp)
    assert paired_rows(runs, exp, "ov") == []
    (cap,) = paired_rows(runs, exp, "cap")
    assert cap.to_init["emo_f1"].n == 3 and cap.to_init["emo_f1"].mean == pytest.approx(2.0)
    assert cap.to_init["distinct2"].format(scale=1.0) == "-0.5 [-0.5, -0.5]"
    section = paired_section(runs, exp)
    assert section.count("### Adaptation and GRPO: paired differences") == 2
    assert "### Adaptation and GRPO: paired differences over seeds (emotion captioning)" in section
    assert "| Δemo-F1 vs initial model | Δdistinct-2 vs initial model |" in section
    assert "| ΔUA vs initial model | ΔWA vs initial model |" in section  # no "vs no update" run
    half = T_975_2DF * statistics.stdev([6.0, 3.0, -3.0]) / math.sqrt(3)
    assert f"+2.0 [{2.0 - half:+.1f}, {2.0 + half:+.1f}]" in section
    assert "| 1 | +10.0 | +10.0 |\n\n### Adaptation and GRPO" in section  # the SER row, in points
