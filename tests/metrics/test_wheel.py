"""EW metric on hand-made wheels: P, R, F per wheel, skips, drops, hit rate, the scorer."""

import json

import pytest

from emorl.data.wheels import load_lexicon
from emorl.metrics.wheel import (
    PER_UTT_FILE,
    ew_f1_per_sample,
    ew_scores,
    sample_pr,
    split_words,
    write_ew_scores,
)

HEADER = "# name: {name}\n# kind: {kind}\n# version: 3\n# source: a test\n"
# wheel "fine": level 1 = one cluster a word, level 2 splits joy and delight
FINE = """
joy      joy      joy
delight  joy      delight
anger    anger    anger
fear     fear     fear
sadness  sadness  sadness
love     joy+fear love
"""
# wheel "valence": level 1 = positive / negative
VALENCE = """
joy      pos  joy
delight  pos  delight
anger    neg  anger
fear     neg  fear
sadness  neg  sadness
love     pos  love
"""
SYNONYMS = "glad joy\nmad anger\nscared fear\n"
FORMS = "gladly glad\nangry anger\nangrier anger\njoyful joy\n"


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory):
    directory = tmp_path_factory.mktemp("wheels")
    for name, kind, body in (
        ("fine", "wheel", FINE),
        ("valence", "wheel", VALENCE),
        ("synonyms", "synonyms", SYNONYMS),
        ("forms", "forms", FORMS),
    ):
        (directory / f"{name}.txt").write_text(HEADER.format(name=name, kind=kind) + body)
    return load_lexicon(directory)


def test_split_words_handles_punctuation_casing_duplicates_and_empty():
    assert split_words("Happy, happy; SAD!! and  angry.") == ["happy", "sad", "and", "angry"]
    assert split_words("['Relaxed', \u2018light-hearted\u2019]") == ["relaxed", "light-hearted"]
    assert split_words("1) joy\n2) fear") == ["joy", "fear"]
    assert split_words("") == split_words("  ,. ") == split_words(None) == []


def test_sample_pr_rules():
    assert sample_pr(frozenset({"a"}), frozenset()) is None
    assert sample_pr(frozenset(), frozenset({"a"})) == (0.0, 0.0)
    assert sample_pr(frozenset({"a", "b", "c"}), frozenset({"a", "d"})) == (1 / 3, 1 / 2)


def test_synonyms_and_forms_of_one_cluster_score_one(lexicon):
    scores, per_utt = ew_scores({"u": "Glad, GLADLY, joyful!"}, {"u": ["joy"]}, lexicon)
    assert per_utt[0].pr == {"fine": (1.0, 1.0), "valence": (1.0, 1.0)}
    assert scores["ew_f"] == scores["ew_p"] == scores["ew_r"] == 100.0
    assert per_utt[0].dropped == []


def test_unmapped_words_are_dropped_not_counted_against_precision(lexicon):
    scores, per_utt = ew_scores({"u": "joy, table, very angry"}, {"u": ["joy"]}, lexicon)
    # clusters {joy, anger} on "fine": P = 1/2 (table and very do not count), R = 1
    assert per_utt[0].pr["fine"] == (0.5, 1.0)
    assert per_utt[0].dropped == ["table", "very"]
    assert scores["num_dropped_words"] == 2


def test_empty_prediction_scores_zero_and_unmappable_reference_is_skipped(lexicon):
    hyps = {"empty": "", "nothing": "a table", "skip": "joy", "ok": "joy"}
    refs = {"empty": ["joy"], "nothing": ["fear"], "skip": ["chair"], "ok": ["joy"]}
    scores, per_utt = ew_scores(hyps, refs, lexicon)
    by_utt = {u.utt: u for u in per_utt}
    assert by_utt["empty"].pr["fine"] == (0.0, 0.0)
    assert by_utt["nothing"].pr["fine"] == (0.0, 0.0)
    assert by_utt["skip"].pr == {"fine": None, "valence": None}
    assert by_utt["skip"].dropped_ref == ["chair"]
    # three scored samples on each wheel: P = R = (0 + 0 + 1) / 3
    assert scores["ew_p_fine"] == pytest.approx(100 / 3)
    assert scores["ew_f"] == pytest.approx(100 / 3)
    assert (scores["num_skipped"], scores["num_empty"], scores["num_utts"]) == (1, 1, 4)
    assert scores["num_dropped_ref_words"] == 1
    assert scores["mean_words"] == (0 + 2 + 1 + 1) / 4  # "a table": two words, neither mapped


def test_f_is_harmonic_mean_of_mean_p_and_mean_r_not_mean_of_per_sample_f(lexicon):
    hyps = {"a": ["joy"], "b": ["anger", "fear", "sadness", "joy"]}
    refs = {"a": ["joy", "anger"], "b": ["mad"]}
    scores, per_utt = ew_scores(hyps, refs, lexicon, wheels=["fine"])
    # a: P = 1, R = 1/2 (F 2/3); b: P = 1/4, R = 1 (F 0.4). Means P = 0.625, R = 0.75.
    assert [u.pr["fine"] for u in per_utt] == [(1.0, 0.5), (0.25, 1.0)]
    assert scores["ew_p"] == pytest.approx(62.5)
    assert scores["ew_r"] == pytest.approx(75.0)
    assert scores["ew_f"] == pytest.approx(100 * 2 * 0.625 * 0.75 / 1.375)  # 68.18
    per_sample = ew_f1_per_sample(list(hyps.values()), list(refs.values()), lexicon, ["fine"])
    assert per_sample == pytest.approx([2 / 3, 0.4])
    assert 100 * sum(per_sample) / 2 == pytest.approx(53.33, abs=0.01)  # differs from 68.18


def test_score_is_the_mean_over_wheels_and_levels_differ(lexicon):
    hyps = {"a": ["delight"], "b": ["fear"]}
    refs = {"a": ["joy"], "b": ["anger"]}
    scores, _ = ew_scores(hyps, refs, lexicon, level=1)
    # fine: a hits (joy), b misses (fear vs anger): P = R = 1/2; valence: both hit (pos; neg)
    assert scores["ew_f_fine"] == pytest.approx(50.0)
    assert scores["ew_f_valence"] == pytest.approx(100.0)
    assert scores["ew_f"] == pytest.approx(75.0)
    assert scores["hit_rate_fine"] == pytest.approx(50.0)
    assert scores["hit_rate"] == pytest.approx(75.0)
    scores2, _ = ew_scores(hyps, refs, lexicon, level=2)
    # level 2: delight != joy on both wheels' middle ring, and fear != anger
    assert scores2["ew_f"] == 0.0 and scores2["level"] == 2


def test_a_word_on_two_clusters_counts_both(lexicon):
    (value,) = ew_f1_per_sample(["love"], [["joy"]], lexicon, ["fine"])
    assert value == pytest.approx(2 * 0.5 * 1.0 / 1.5)  # {joy, fear} vs {joy}: P 1/2, R 1


def test_per_sample_f1_is_none_when_skipped_on_every_wheel(lexicon):
    assert ew_f1_per_sample(["joy", ""], [["chair"], "joy"], lexicon) == [None, 0.0]


def test_scorer_writes_scores_and_per_utterance_file(lexicon, tmp_path):
    decode_dir = tmp_path / "decode_test"
    hyps = {"u1": "Joy, table", "u2": "", "u3": "fear"}
    refs = {"u1": ["joy"], "u2": ["fear"], "u3": ["chair"]}
    returned = write_ew_scores(decode_dir, hyps, refs, lexicon)
    scores = json.loads((decode_dir / "scores.json").read_text())
    assert scores == returned
    assert scores["task"] == "ov" and scores["wheels"] == ["fine", "valence"]
    assert scores["wheel_versions"] == {"fine": "3", "valence": "3"}
    assert scores["ew_f"] == pytest.approx(50.0)  # u1: 1, u2: 0, u3 skipped
    for key in ("ew_f", "ew_p", "ew_r", "hit_rate", "num_dropped_words", "num_skipped"):
        assert key in scores
    assert (scores["num_dropped_words"], scores["num_skipped"], scores["num_utts"]) == (1, 1, 3)
    lines = (decode_dir / PER_UTT_FILE).read_text().splitlines()
    assert lines == [
        "utt\tp_fine\tr_fine\tp_valence\tr_valence\tdropped\tdropped_ref",
        "u1\t100.00\t100.00\t100.00\t100.00\ttable\t-",
        "u2\t0.00\t0.00\t0.00\t0.00\t-\t-",
        "u3\tskip\tskip\tskip\tskip\t-\tchair",
    ]
    assert sorted(p.name for p in decode_dir.iterdir()) == [PER_UTT_FILE, "scores.json"]


def test_scorer_stops_on_mismatched_utterances_and_unscorable_wheel(lexicon, tmp_path):
    with pytest.raises(ValueError, match="1 without hypothesis"):
        ew_scores({"a": "joy"}, {"a": ["joy"], "b": ["joy"]}, lexicon)
    with pytest.raises(ValueError, match="no reference of the 1 utterances maps on wheel 'fine'"):
        ew_scores({"a": "joy"}, {"a": ["chair"]}, lexicon)
    with pytest.raises(ValueError, match="level must be 1 or 2"):
        ew_scores({"a": "joy"}, {"a": ["joy"]}, lexicon, level=3)
    assert not (tmp_path / "scores.json").exists()


def test_shipped_wheels_score_synonyms_of_one_emotion_fully():
    values = ew_f1_per_sample(
        ["Furious!", "I feel so happy, cheerful.", "scared"],
        [["angry"], ["joyful"], ["afraid"]],
    )
    assert values == [1.0, 1.0, 1.0]
