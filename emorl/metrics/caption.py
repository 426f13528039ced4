"""Captioning metrics (task ``cap``): BLEU-1..4, METEOR, ROUGE-L, Distinct-1/2, vocabulary size,
mean length, Emo-F1, and the scorer that writes a decode dir's ``scores.json``.

Values are percentages (0-100) like the SER scorer's; counts are integers. The choices:

- Tokenisation. BLEU uses sacrebleu's own tokenisers: ``13a`` for English (sacrebleu's default
  and the WMT standard: punctuation split off, case kept) and ``zh`` for Chinese (every CJK
  character a token, other runs tokenised like 13a). Chinese is scored at character level because
  it has no spaces between words and character n-grams need no word segmenter, whose errors would
  enter the metric. The other metrics share one word tokenisation (:func:`tokenize`): English as
  rouge-score tokenises (lower-cased runs of letters and digits, punctuation dropped); Chinese as
  the characters of sacrebleu's ``zh`` tokenisation, lower-cased, punctuation dropped, because
  rouge-score's own tokeniser drops every non-ASCII character and would see empty captions.
  ``language="auto"`` picks Chinese when most reference captions contain a CJK character.
- BLEU-n: sacrebleu's corpus BLEU with maximum n-gram order n (BLEU-4 is sacrebleu's standard
  BLEU), one reference per utterance, sacrebleu's default exponential smoothing (it only acts on
  an order without any match in the whole corpus). Not coco-caption's BLEU (pycocoevalcap): its
  tokeniser runs Stanford CoreNLP in Java, so it is left out, and with it CIDEr (no ``cider``
  key); pycocoevalcap's numbers differ from sacrebleu's through tokenisation.
- METEOR: nltk's ``meteor_score`` (exact, Porter-stem and WordNet-synonym matches; alpha 0.9,
  beta 3, gamma 0.5), averaged over utterances, with WordNet 3.0 from :mod:`emorl.metrics.wordnet`.
  It is nltk's re-implementation, not the METEOR 1.5 jar that coco-caption runs, so values are not
  comparable with papers that used the jar. On Chinese it sees characters: stemming and WordNet do
  nothing there, which leaves exact character matches with METEOR's fragmentation penalty. Without
  WordNet ``meteor`` is ``None`` and ``meteor_unavailable`` says why (never a made-up value).
- ROUGE-L: rouge-score's longest-common-subsequence F-measure, averaged over utterances.
- Distinct-n: distinct n-grams / all n-grams over all generated captions (n-grams within a
  caption); ``vocab_size``: distinct tokens over all generated captions; ``mean_length``: tokens per
  generated caption, empty ones included.
- Emo-F1: macro-F1 (:func:`emorl.metrics.ser.ser_scores`, over the classes of the reference labels)
  of the emotion that :func:`emorl.metrics.emotion_words.extract_emotion` reads from each generated
  caption, against the utterance's label; a caption that names no emotion is the prediction
  ``<none>`` (always wrong). ``emo_extractor_acc_on_refs``: the extractor's accuracy on the
  reference captions, so that an Emo-F1 limited by the extractor shows.
- An empty generated caption is scored as empty (no n-grams, METEOR and ROUGE-L 0, length 0 in
  BLEU's brevity penalty) and counted in ``num_empty``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from rouge_score import rouge_scorer
from rouge_score.tokenizers import DefaultTokenizer
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

from emorl.atomic import atomic_write
from emorl.data.datadir import read_table
from emorl.metrics import emotion_words
from emorl.metrics.ser import ser_scores
from emorl.metrics.wordnet import WordNetUnavailable, load_wordnet

#: The metric keys of a cap ``scores.json``, in table order (``meteor`` may be None).
METRICS = (
    "bleu1",
    "bleu2",
    "bleu3",
    "bleu4",
    "meteor",
    "rouge_l",
    "distinct1",
    "distinct2",
    "vocab_size",
    "mean_length",
    "emo_f1",
)
#: The Emo-F1 prediction of a caption that names no emotion.
NO_EMOTION = "<none>"
#: sacrebleu tokeniser per language.
BLEU_TOKENIZE = {"en": "13a", "zh": "zh"}
#: Per-utterance scores written beside scores.json.
PER_UTT_FILE = "scores_per_utt.tsv"
#: The generated captions in a decode dir.
CAPTIONS_FILE = "captions"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class CaptionScoreError(ValueError):
    """Captions, references and labels do not fit together."""


def detect_language(captions: Iterable[str]) -> str:
    """``zh`` when more than half of ``captions`` contain a CJK character, else ``en``."""
    captions = list(captions)
    chinese = sum(1 for c in captions if _CJK.search(c))
    return "zh" if captions and chinese > len(captions) / 2 else "en"


class _ChineseTokenizer:
    """Characters of sacrebleu's ``zh`` tokenisation, lower-cased, punctuation dropped."""

    def __init__(self):
        self._zh = TokenizerZh()

    def tokenize(self, text: str) -> list[str]:
        return [
            t
            for t in self._zh(text.lower()).split()
            if not all(unicodedata.category(c)[0] in "PS" for c in t)
        ]


def _word_tokenizer(language: str):
    if language == "en":
        return DefaultTokenizer(use_stemmer=False)
    if language == "zh":
        return _ChineseTokenizer()
    raise CaptionScoreError(f"language {language!r}: expected 'en' or 'zh'")


def tokenize(text: str, language: str) -> list[str]:
    """The word tokens of ``text`` used by every metric except BLEU (see the module docstring)."""
    return _word_tokenizer(language).tokenize(text)


def bleu(hypotheses: Sequence[str], references: Sequence[str], language: str) -> dict[str, float]:
    """Corpus BLEU-1..4 (sacrebleu, one reference per hypothesis): ``{"bleu1": ..., ...}``."""
    if len(hypotheses) != len(references):
        raise CaptionScoreError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    refs = [list(references)]
    return {
        f"bleu{n}": float(
            BLEU(tokenize=BLEU_TOKENIZE[language], max_ngram_order=n)
            .corpus_score(list(hypotheses), refs)
            .score
        )
        for n in range(1, 5)
    }


def distinct_n(token_lists: Sequence[Sequence[str]], n: int) -> float:
    """Distinct n-grams / all n-grams over the captions (n-grams within a caption); 0 if none."""
    ngrams = Counter(
        tuple(tokens[i : i + n]) for tokens in token_lists for i in range(len(tokens) - n + 1)
    )
    total = sum(ngrams.values())
    return len(ngrams) / total if total else 0.0


def rouge_l(hypotheses: Sequence[str], references: Sequence[str], language: str) -> list[float]:
    """Sentence ROUGE-L F-measure (rouge-score) of each hypothesis against its reference."""
    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_word_tokenizer(language))
    return [scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hypotheses, references)]


def meteor(hyp_tokens: Sequence[Sequence[str]], ref_tokens: Sequence[Sequence[str]]) -> list[float]:
    """Sentence METEOR (nltk, WordNet 3.0) of each tokenised hypothesis against its reference.

    Raises :class:`~emorl.metrics.wordnet.WordNetUnavailable` when WordNet cannot be had.
    """
    from nltk.translate.meteor_score import single_meteor_score

    wordnet = load_wordnet()
    return [
        single_meteor_score(list(r), list(h), wordnet=wordnet) if h else 0.0
        for h, r in zip(hyp_tokens, ref_tokens)
    ]


def _check_utts(hypotheses: dict, references: dict, labels: dict, where: dict) -> list[str]:
    for utt in sorted(hypotheses):
        if utt not in references:
            raise CaptionScoreError(
                f"utterance {utt} (in {where['hyp']}) has no reference caption in {where['ref']}"
            )
        if utt not in labels:
            raise CaptionScoreError(
                f"utterance {utt} (in {where['hyp']}) has no emotion label in {where['labels']}"
            )
    missing = sorted(set(references) - set(hypotheses))
    if missing:
        raise CaptionScoreError(
            f"{len(missing)} utterances of {where['ref']} have no generated caption in "
            f"{where['hyp']} (e.g. {missing[:5]})"
        )
    if not hypotheses:
        raise CaptionScoreError(f"no generated captions in {where['hyp']}")
    return sorted(hypotheses)


def score_captions(
    hypotheses: dict[str, str],
    references: dict[str, str],
    labels: dict[str, str],
    language: str = "auto",
    where: dict[str, str] | None = None,
) -> tuple[dict, list[dict]]:
    """Score generated captions ``utt -> caption`` against ``utt -> reference caption``.

    ``labels``: ``utt -> emotion label`` (for Emo-F1). Every generated caption needs a reference
    and a label, and every reference a generated caption (errors name the utterance); an empty
    generated caption is allowed. ``where`` names the sources in errors (keys ``hyp``, ``ref``,
    ``labels``). Returns ``(scores, per_utt)``: ``scores`` has ``task: "cap"``, the keys of
    :data:`METRICS`, ``emo_extractor_acc_on_refs``, ``emo_per_class``, ``num_empty``,
    ``num_utts``, ``language``, ``bleu_tokenize`` (and ``meteor_unavailable`` when METEOR could not
    be computed); ``per_utt`` one dict per utterance (sorted): ``utt``, ``label``, ``emo_hyp``,
    ``emo_ref``, ``length``, ``rouge_l``, ``meteor``.
    """
    where = {"hyp": "hypotheses", "ref": "references", "labels": "labels", **(where or {})}
    utts = _check_utts(hypotheses, references, labels, where)
    hyps = [hypotheses[u].strip() for u in utts]
    refs = [references[u].strip() for u in utts]
    gold = [labels[u] for u in utts]
    for utt, ref in zip(utts, refs):
        if not ref:
            raise CaptionScoreError(f"utterance {utt}: empty reference caption in {where['ref']}")
    if language == "auto":
        language = detect_language(refs)
    if language not in BLEU_TOKENIZE:
        raise CaptionScoreError(f"language {language!r}: expected 'auto', 'en' or 'zh'")
    classes = sorted(set(gold))
    try:
        emotion_words.check_classes(classes)
    except emotion_words.LexiconError as e:
        raise CaptionScoreError(f"{where['labels']}: {e}") from None

    tokenizer = _word_tokenizer(language)
    hyp_tokens = [tokenizer.tokenize(h) for h in hyps]
    ref_tokens = [tokenizer.tokenize(r) for r in refs]
    rouge = rouge_l(hyps, refs, language)
    scores: dict = {"task": "cap", **bleu(hyps, refs, language)}
    try:
        meteors: list[float] | None = meteor(hyp_tokens, ref_tokens)
        scores["meteor"] = 100 * sum(meteors) / len(meteors)
    except WordNetUnavailable as e:
        logging.warning("METEOR left out: %s", e)
        meteors = None
        scores["meteor"] = None
        scores["meteor_unavailable"] = str(e)
    scores["rouge_l"] = 100 * sum(rouge) / len(rouge)
    scores["distinct1"] = 100 * distinct_n(hyp_tokens, 1)
    scores["distinct2"] = 100 * distinct_n(hyp_tokens, 2)
    scores["vocab_size"] = len({t for tokens in hyp_tokens for t in tokens})
    scores["mean_length"] = sum(map(len, hyp_tokens)) / len(hyp_tokens)

    emo_hyp = [emotion_words.extract_emotion(h) or NO_EMOTION for h in hyps]
    emo_ref = [emotion_words.extract_emotion(r) or NO_EMOTION for r in refs]
    seen = sorted(set(classes) | set(emo_hyp) | set(emo_ref))
    emo = ser_scores(dict(zip(utts, gold)), dict(zip(utts, emo_hyp)), seen)
    scores["emo_f1"] = 100 * emo["macro_f1"]
    scores["emo_extractor_acc_on_refs"] = (
        100 * sum(e == g for e, g in zip(emo_ref, gold)) / len(gold)
    )
    scores["emo_per_class"] = {c: emo["per_class"][c] for c in classes}
    scores["num_empty"] = sum(1 for h in hyps if not h)
    scores["num_utts"] = len(utts)
    scores["language"] = language
    scores["bleu_tokenize"] = BLEU_TOKENIZE[language]
    per_utt = [
        {
            "utt": utt,
            "label": gold[i],
            "emo_hyp": emo_hyp[i],
            "emo_ref": emo_ref[i],
            "length": len(hyp_tokens[i]),
            "rouge_l": 100 * float(rouge[i]),
            "meteor": None if meteors is None else 100 * meteors[i],
        }
        for i, utt in enumerate(utts)
    ]
    return scores, per_utt


def read_captions(path: str | os.PathLike) -> dict[str, str]:
    """A generated-captions file: ``<utt> <caption>`` per line, ``<utt>`` alone for an empty one.

    Errors name the file and line (blank line, duplicate utterance).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CaptionScoreError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise CaptionScoreError(f"{path}: not UTF-8 text ({e})") from None
    captions: dict[str, str] = {}
    for lineno, line in enumerate(lines, 1):
        parts = line.strip().split(maxsplit=1)
        if not parts:
            raise CaptionScoreError(f"{path}:{lineno}: empty line (an empty caption is '<utt>')")
        if parts[0] in captions:
            raise CaptionScoreError(f"{path}:{lineno}: duplicate utterance {parts[0]!r}")
        captions[parts[0]] = parts[1] if len(parts) > 1 else ""
    return captions


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def score_caption_decode_dir(
    data_dir: str | os.PathLike, decode_dir: str | os.PathLike, language: str = "auto"
) -> dict:
    """Score ``decode_dir/captions`` against ``data_dir/{utt2caption,utt2emo}``.

    Writes ``decode_dir/scores.json`` (see :func:`score_captions`) and ``decode_dir/``
    :data:`PER_UTT_FILE` (tab-separated, a header line), each atomically; returns the scores.
    """
    data_dir, decode_dir = Path(data_dir), Path(decode_dir)
    sources = {
        "hyp": str(decode_dir / CAPTIONS_FILE),
        "ref": str(data_dir / "utt2caption"),
        "labels": str(data_dir / "utt2emo"),
    }
    scores, per_utt = score_captions(
        read_captions(sources["hyp"]),
        read_table(sources["ref"]),
        read_table(sources["labels"]),
        language,
        sources,
    )
    with atomic_write(decode_dir / PER_UTT_FILE) as f:
        columns = list(per_utt[0])
        f.write("\t".join(columns) + "\n")
        for row in per_utt:
            f.write("\t".join(_fmt(row[c]) for c in columns) + "\n")
    with atomic_write(decode_dir / "scores.json") as f:
        json.dump(scores, f, indent=2, ensure_ascii=False)
    return scores
