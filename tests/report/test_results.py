"""Collecting scored experiments, aggregating seeds and folds, tables, the README block."""

from __future__ import annotations

import pytest
from fake_exp import write_scores, write_task_scores

from emorl.report.results import (
    END,
    START,
    collect_runs,
    comparison_table,
    results_block,
    results_table,
    summarize,
    unknown_runs,
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
    # the folds are rows of one experiment (wavlm, ser_ser, test), then their summary
    assert [(r.upstream, r.config, r.eval_set) for r in rows] == [("wavlm", "ser", "test")] * 4
    assert [(r.fold, r.folds) for r in rows] == [("1", 0), ("2", 0), ("3", 0), ("", 3)]
    assert rows[1].stats["ua"]["mean"] == pytest.approx(0.7)  # fold 2, mean over its 2 seeds
    assert rows[1].stats["ua"]["std"] == pytest.approx(0.014142, abs=1e-6)
    summary = rows[-1]
    assert (summary.method, summary.config, summary.seeds) == ("ser", "ser", "2")
    assert summary.stats["ua"]["mean"] == pytest.approx(0.7)
    assert summary.stats["ua"]["std"] == pytest.approx(0.1)
    assert summary.num_utts == 60
    table = results_table(rows).splitlines()
    assert table[0].startswith("| upstream | method | config | eval set | fold | seeds | UA |")
    assert "| wavlm | ser | ser | test | 1 | 2 | 60.0 ± 1.4 | 60.0 ± 0.0 |" in table[2]
    assert "| wavlm | ser | ser | test | mean of 3 | 2 | 70.0 ± 10.0 | 70.0 ± 10.0 |" in table[5]
    # one column, one row: the summary stands for the folds
    assert comparison_table(rows).splitlines() == [
        "| method | config | eval set | wavlm |",
        "|---|---|---|---|",
        "| ser | ser | test (3 folds) | 70.0 / 70.0 |",
    ]


def test_results_block_has_environment_and_tables(exp_dir):
    block = results_block(
        summarize(collect_runs(exp_dir)),
        "python -m emorl.bin.report --exp_dir exp",
        date="2030-01-02",
    )
    lines = block.splitlines()
    assert lines[0] == START and lines[-1] == END
    assert "date 2030-01-02; emorl " in block and "; python 3." in block and "; torch 2." in block
    assert "### Experiments: emotion recognition" in block
    assert "### Comparison across upstreams and methods: emotion recognition" in block
    assert "UA / macro-F1, mean over seeds" in block
    assert "captioning" not in block and "unknown kinds" not in block
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
    wavlm = tmp_path / "iemocap4" / "fold2" / "wavlm" / "ser_ser" / "seed1"
    write_scores(wavlm / "decode_fold2_test", 0.9, 0.9, 0.8, 0.9, num_utts=10)
    rows = summarize(collect_runs(tmp_path))
    assert [(r.upstream, r.eval_set, r.fold, r.folds) for r in rows] == [
        ("iemocap4/fbank", "test", "1", 0),
        ("iemocap4/fbank", "test", "2", 0),
        ("iemocap4/fbank", "test", "", 2),
        ("iemocap4/wavlm", "test", "2", 0),
        ("iemocap4/wavlm", "test", "", 1),  # one fold done so far: its own summary
    ]
    assert rows[2].stats["ua"]["mean"] == pytest.approx(0.6)
    assert rows[2].stats["ua"]["std"] == pytest.approx(0.141421, abs=1e-6)
    # no column per fold: one per upstream, the folds summarised
    assert comparison_table(rows).splitlines()[0] == (
        "| method | config | eval set | iemocap4/fbank | iemocap4/wavlm |"
    )
    assert "| ser | ser | test (2 folds) | 60.0 / 60.0 | - |" in comparison_table(rows)
    assert "| ser | ser | test (1 folds) | - | 90.0 / 80.0 |" in comparison_table(rows)


CAP = {"bleu1": 40.0, "bleu4": 10.0, "meteor": 20.0, "rouge_l": 30.0, "distinct1": 50.0,
       "distinct2": 60.0, "vocab_size": 120, "mean_length": 12.5, "emo_f1": 55.0,
       "num_empty": 1, "num_utts": 30}  # fmt: skip
OV = {"ew_f": 45.0, "ew_p": 50.0, "ew_r": 40.0, "ew_f_w1": 44.0, "hit_rate": 70.0,
      "num_dropped_words": 3, "num_skipped": 2, "num_utts": 20}  # fmt: skip


@pytest.fixture
def mixed_exp(tmp_path):
    """SER, captioning (2 seeds, one with CIDEr), open vocabulary and an unknown kind."""
    exp = tmp_path / "exp"
    write_scores(exp / "fbank" / "ser_ser" / "seed1" / "decode_test", 0.5, 0.6, 0.4, 0.55)
    for seed, bleu4 in ((1, 10.0), (2, 14.0)):
        extra = {"cider": 80.0} if seed == 1 else {}
        write_task_scores(exp / "lalm" / "cap_grpo" / f"seed{seed}" / "decode_test", "cap",
                          **{**CAP, "bleu4": bleu4, **extra})  # fmt: skip
    write_task_scores(exp / "lalm" / "ov_grpo" / "seed1" / "decode_test", "ov", **OV)
    other_wheel = {k: v for k, v in OV.items() if k != "ew_f_w1"} | {"ew_f_w2": 46.0}
    write_task_scores(exp / "lalm" / "ov_sft" / "seed1" / "decode_test", "ov", **other_wheel)
    write_task_scores(exp / "lalm" / "qa_grpo" / "seed1" / "decode_test", "qa", accuracy=0.5)
    return exp


def test_each_kind_has_its_own_table_and_columns(mixed_exp):
    runs = collect_runs(mixed_exp)
    assert sorted(r.kind for r in runs) == ["cap", "cap", "ov", "ov", "qa", "ser"]
    rows = summarize(runs)
    assert sorted(r.kind for r in rows) == ["cap", "ov", "ov", "ser"]  # the unknown one left out
    cap = [r for r in rows if r.kind == "cap"]
    table = results_table(cap).splitlines()
    assert table[0] == (
        "| upstream | method | config | eval set | seeds | BLEU-1 | BLEU-4 | METEOR | ROUGE-L | "
        "CIDEr | distinct-1 | distinct-2 | emo-F1 | mean length | #empty | #utts |"
    )
    # stored in %, shown as they are; CIDEr in one seed only: "-"; counts without decimals
    assert table[2] == (
        "| lalm | cap | grpo | test | 2 | 40.0 ± 0.0 | 12.0 ± 2.8 | 20.0 ± 0.0 | 30.0 ± 0.0 | - | "
        "50.0 ± 0.0 | 60.0 ± 0.0 | 55.0 ± 0.0 | 12.5 ± 0.0 | 1 ± 0 | 30 |"
    )
    ov = results_table([r for r in rows if r.kind == "ov"]).splitlines()
    assert ov[0] == (
        "| upstream | method | config | eval set | seeds | EW-F | EW-P | EW-R | hit rate | "
        "mean words | #skipped | EW-F w1 | EW-F w2 | #utts |"
    )  # one column per wheel found, "-" where a file lacks it (mean words: older score files)
    same = "| 45.0 | 50.0 | 40.0 | 70.0 | - | 2 |"
    assert ov[2] == f"| lalm | ov | grpo | test | 1 {same} 44.0 | - | 20 |"
    assert ov[3] == f"| lalm | ov | sft | test | 1 {same} - | 46.0 | 20 |"
    assert comparison_table(cap).splitlines()[2] == "| cap | grpo | test | 20.0 / 55.0 |"
    with pytest.raises(ValueError, match="one kind of scores"):
        results_table(rows)


def test_unknown_kind_is_listed_and_the_rest_reported(mixed_exp, caplog):
    runs = collect_runs(mixed_exp)
    rows = summarize(runs)
    assert "qa_grpo/seed1/decode_test/scores.json: score kind 'qa' has no table" in caplog.text
    block = results_block(rows, "cmd", unknown=unknown_runs(runs), date="2030-01-02")
    titles = [line for line in block.splitlines() if line.startswith("###")]
    assert titles == [
        "### Experiments: emotion recognition",
        "### Comparison across upstreams and methods: emotion recognition",
        "### Experiments: emotion captioning",
        "### Comparison across upstreams and methods: emotion captioning",
        "### Experiments: open-vocabulary emotion",
        "### Comparison across upstreams and methods: open-vocabulary emotion",
        "### Score files of unknown kinds",
    ]
    assert f"- `{mixed_exp}/lalm/qa_grpo/seed1/decode_test/scores.json`: task `qa`" in block
    assert "METEOR / emo-F1, mean over seeds" in block and "EW-F / hit rate" in block


def test_bad_score_files_stop_naming_the_file(tmp_path):
    decode = tmp_path / "fbank" / "ser_ser" / "decode_test"
    decode.mkdir(parents=True)
    (decode / "scores.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"decode_test/scores.json: not a JSON score file"):
        collect_runs(tmp_path)
    write_task_scores(decode, "ov", **{k: v for k, v in OV.items() if k != "ew_p"})
    with pytest.raises(ValueError, match=r"decode_test/scores.json: no 'ew_p' in a 'ov' score"):
        summarize(collect_runs(tmp_path))


def test_an_audio_lm_without_upstream_dir_has_the_own_encoder_column(tmp_path):
    write_scores(tmp_path / "fbank" / "ser_ser" / "seed1" / "decode_test", 0.5, 0.6, 0.4, 0.5)
    write_scores(tmp_path / "lalm_mini_sft_esr" / "seed1" / "decode_test", 0.7, 0.6, 0.65, 0.6)
    table = comparison_table(summarize(collect_runs(tmp_path))).splitlines()
    assert table[0] == "| method | config | eval set | own encoder | fbank |"
    assert table[2:] == [
        "| lalm | mini_sft_esr | test | 70.0 / 65.0 | - |",
        "| ser | ser | test | - | 50.0 / 40.0 |",
    ]
