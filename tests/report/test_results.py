"""Collecting scored experiments, aggregating seeds and folds, tables, the README block."""

from __future__ import annotations

import pytest
from fake_exp import write_scores

from emorl.report.results import (
    END,
    START,
    collect_runs,
    comparison_table,
    results_block,
    results_table,
    summarize,
    update_readme,
)


def test_collect_runs_reads_the_exp_layout(exp_dir):
    runs = collect_runs(exp_dir)
    assert len(runs) == 2 * 3 * 2 + 2
    run = next(r for r in runs if r.exp == "adapt_bgrpo" and r.seed == "2")
    assert (run.upstream, run.method, run.config, run.eval_set) == (
        "fbank",
        "adapt",
        "bgrpo",
        "tgt_test",
    )
    assert run.scores["ua"] == 0.40 and run.run_dir == exp_dir / "fbank/adapt_bgrpo/seed2"


def test_collect_runs_without_seed_or_upstream_levels(tmp_path):
    write_scores(tmp_path / "ser_attn" / "decode_test", 0.5, 0.5, 0.5, 0.5)
    write_scores(tmp_path / "wavlm" / "ser" / "decode_test", 0.5, 0.5, 0.5, 0.5)
    runs = sorted(collect_runs(tmp_path), key=lambda r: r.exp)
    assert [(r.upstream, r.method, r.config, r.seed) for r in runs] == [
        ("wavlm", "ser", "-", "-"),
        ("-", "ser", "attn", "-"),
    ]


def test_rows_aggregate_seeds_as_mean_and_sample_std(exp_dir):
    rows = {(r.upstream, r.method, r.eval_set): r for r in summarize(collect_runs(exp_dir))}
    row = rows[("fbank", "ser", "src_test")]
    assert row.seeds == "3" and row.num_utts == 120
    assert row.stats["ua"]["mean"] == pytest.approx(0.50)
    assert row.stats["ua"]["std"] == pytest.approx(0.02)  # (-0.02, 0, 0.02): sample std 0.02
    bgrpo = rows[("fbank", "adapt", "tgt_test")]
    assert bgrpo.stats["ua"]["mean"] == pytest.approx(0.38)
    assert bgrpo.stats["ua"]["std"] == pytest.approx(0.028284, abs=1e-6)


def test_results_table_rows(exp_dir):
    table = [
        line.split(" | ") for line in results_table(summarize(collect_runs(exp_dir))).splitlines()
    ]
    header = ["| upstream", "method", "config", "eval set", "seeds", "UA", "WA", "macro-F1"]
    assert table[0] == header + ["weighted-F1", "#utts |"]
    assert ["| fbank", "adapt", "bgrpo", "tgt_test", "2", "38.0 ± 2.8", "50.0 ± 0.0", "35.0 ± 0.0",
            "45.0 ± 0.0", "90 |"] in table  # fmt: skip
    assert ["| whisper_tiny.en", "ser", "ser", "src_test", "3", "70.0 ± 2.0", "60.0 ± 0.0",
            "70.0 ± 0.0", "60.0 ± 0.0", "120 |"] in table  # fmt: skip
    assert len(table) == 2 + 5


def test_comparison_table_puts_upstreams_side_by_side(exp_dir):
    table = comparison_table(summarize(collect_runs(exp_dir))).splitlines()
    assert table[0] == "| method | config | eval set | fbank | whisper_tiny.en |"
    assert "| adapt | bgrpo | tgt_test | 38.0 / 35.0 | - |" in table
    assert "| ser | ser | tgt_test | 30.0 / 30.0 | 50.0 / 50.0 |" in table


def test_folds_are_summarised_as_mean_and_std_over_folds(tmp_path):
    for fold, ua in ((1, 0.6), (2, 0.7), (3, 0.8)):
        for seed, delta in ((1, -0.01), (2, 0.01)):
            run = tmp_path / "wavlm" / f"ser_ser_fold{fold}" / f"seed{seed}"
            write_scores(
                run / f"decode_fold{fold}_test", ua + delta, ua, ua, ua, num_utts=10 * fold
            )
    rows = summarize(collect_runs(tmp_path))
    assert len(rows) == 4
    summary = rows[-1]
    assert (summary.config, summary.eval_set, summary.folds, summary.seeds) == (
        "ser",
        "test (3 folds)",
        3,
        "2",
    )
    assert summary.stats["ua"]["mean"] == pytest.approx(0.7)
    assert summary.stats["ua"]["std"] == pytest.approx(0.1)
    assert summary.num_utts == 60


def test_results_block_has_environment_and_tables(exp_dir):
    block = results_block(
        summarize(collect_runs(exp_dir)),
        "python -m emorl.bin.report --exp_dir exp",
        date="2030-01-02",
    )
    lines = block.splitlines()
    assert lines[0] == START and lines[-1] == END
    assert "date 2030-01-02; emorl " in block and "; python 3." in block and "; torch 2." in block
    assert "### Experiments" in block and "### Comparison across upstreams and methods" in block
    assert "No scored experiments yet." in results_block([], "cmd")


def test_update_readme_replaces_only_the_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Recipe\n\nintro\n\n{START}\nold\n{END}\n\n## How to run\n")
    update_readme(readme, f"{START}\nnew\n{END}\n")
    assert readme.read_text() == f"# Recipe\n\nintro\n\n{START}\nnew\n{END}\n\n## How to run\n"
    fresh = tmp_path / "fresh.md"
    fresh.write_text("# Title\n")
    update_readme(fresh, f"{START}\nx\n{END}\n")
    assert fresh.read_text() == f"# Title\n\n{START}\nx\n{END}\n"
    bad = tmp_path / "bad.md"
    bad.write_text(f"{START}\nno end\n")
    with pytest.raises(ValueError, match="unbalanced"):
        update_readme(bad, "x")


def test_folds_as_recipe_exp_dirs_are_gathered(tmp_path):
    """Fold recipes write exp/<protocol>/fold<k>/<upstream>/ser_<conf>/seed<S>/decode_*."""
    for fold, ua in ((1, 0.5), (2, 0.7)):
        run = tmp_path / "iemocap4" / f"fold{fold}" / "fbank" / "ser_ser" / "seed1"
        write_scores(run / f"decode_fold{fold}_test", ua, ua, ua, ua, num_utts=10)
    rows = summarize(collect_runs(tmp_path))
    summary = rows[-1]
    assert (summary.upstream, summary.eval_set, summary.folds) == (
        "iemocap4/fbank",
        "test (2 folds)",
        2,
    )
    assert summary.stats["ua"]["mean"] == pytest.approx(0.6)
