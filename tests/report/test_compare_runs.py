"""compare_runs: every experiment of an exp dir against one of them, paired by seed."""

from __future__ import annotations

import math

import pytest
from fake_exp import write_scores
from test_paired import T_975_2DF

from emorl.bin import compare_runs
from emorl.report.paired import compare_to_reference
from emorl.report.results import SCORE_KINDS, collect_runs

UA = SCORE_KINDS["ser"].metrics[0]


def make_search(exp):
    """pseudo_label UA .50/.52/.54 on seeds 1-3 (and .90 on a seed 4 of its own); lr3e-4
    +.03/+.02/+.04 over it on the same seeds; kl1 -.01 on seeds 1 and 2 only."""
    for seed, ua in ((1, 0.50), (2, 0.52), (3, 0.54), (4, 0.90)):
        write_scores(exp / "adapt_pseudo_label" / f"seed{seed}" / "decode_tgt_dev", ua, ua, 0, 0)
    for seed, gain in ((1, 0.03), (2, 0.02), (3, 0.04)):
        ua = 0.48 + 0.02 * seed + gain
        write_scores(exp / "adapt_s_lr3e-4" / f"seed{seed}" / "decode_tgt_dev", ua, ua, 0, 0)
        write_scores(exp / "adapt_s_lr3e-4" / f"seed{seed}" / "decode_tgt_test", ua, ua, 0, 0)
    for seed in (1, 2):
        ua = 0.48 + 0.02 * seed - 0.01
        write_scores(exp / "adapt_s_kl1" / f"seed{seed}" / "decode_tgt_dev", ua, ua, 0, 0)
    return exp


def test_rows_pair_the_seeds_both_have_and_sort_best_first(tmp_path):
    exp = make_search(tmp_path / "exp")
    rows = compare_to_reference(collect_runs(exp), "adapt_pseudo_label", UA)
    dev = [r for r in rows if r.eval_set == "tgt_dev"]
    assert [r.exp for r in dev] == ["adapt_pseudo_label", "adapt_s_lr3e-4", "adapt_s_kl1"]
    reference, best, kl1 = dev
    assert reference.to_reference is None and reference.seeds == 4
    assert reference.mean == pytest.approx(0.615)  # its own 4 seeds
    half = T_975_2DF * 0.01 / math.sqrt(3)
    assert best.to_reference.mean == pytest.approx(0.03) and best.to_reference.n == 3
    assert best.to_reference.high == pytest.approx(0.03 + half)
    assert (best.mean, best.std) == pytest.approx((0.55, math.sqrt(7e-4)))  # .53 .54 .58
    assert kl1.to_reference.format() == "-1.0 [-1.0, -1.0]" and kl1.to_reference.n == 2
    test = [r for r in rows if r.eval_set == "tgt_test"]
    assert [(r.exp, r.to_reference) for r in test] == [("adapt_s_lr3e-4", None)]  # no reference


def test_an_unknown_reference_names_the_experiments(tmp_path):
    exp = make_search(tmp_path / "exp")
    with pytest.raises(ValueError, match=r"'adapt_bgrpo' is none of .*adapt_s_kl1"):
        compare_to_reference(collect_runs(exp), "adapt_bgrpo", UA)


def test_cli_prints_the_table_of_the_chosen_seeds_and_sets(tmp_path, capsys):
    exp = make_search(tmp_path / "exp")
    compare_runs.main(
        [
            "--exp_dir",
            str(exp),
            "--reference",
            "adapt_pseudo_label",
            "--eval_sets",
            "tgt_dev",
            "--seeds",
            "1 2 3",
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| experiment | eval set | seeds | UA | ΔUA vs adapt_pseudo_label |"
    assert lines[2] == "| adapt_s_lr3e-4 | tgt_dev | 3 | 55.0 ± 2.6 | +3.0 [+0.5, +5.5] |"
    assert lines[3] == "| adapt_pseudo_label | tgt_dev | 3 | 52.0 ± 2.0 | - |"
    assert lines[4] == "| adapt_s_kl1 | tgt_dev | 2 | 50.0 ± 1.4 | -1.0 [-1.0, -1.0] |"
    assert len(lines) == 5


def test_cli_stops_on_an_unknown_metric_or_empty_selection(tmp_path, capsys):
    exp = make_search(tmp_path / "exp")
    with pytest.raises(SystemExit):
        compare_runs.main(["--exp_dir", str(exp), "--reference", "adapt_s_kl1", "--metric", "bleu"])
    err = capsys.readouterr().err
    assert "--metric bleu: one of ['macro_f1', 'ua', 'wa', 'weighted_f1']" in err
    with pytest.raises(SystemExit):
        compare_runs.main(["--exp_dir", str(exp), "--reference", "adapt_s_kl1", "--seeds", "9"])
    assert "no scored run" in capsys.readouterr().err
    compare_runs.main(["--exp_dir", str(exp), "--reference", "adapt_s_kl1", "--experiments", "x"])
    assert capsys.readouterr().out.count("adapt_") == 2  # the reference only: a header, a row
