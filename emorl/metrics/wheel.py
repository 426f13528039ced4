"""Emotion-wheel (EW) metrics of open-vocabulary emotion recognition: P, R, F and hit rate.

Each predicted and reference word is lower-cased, reduced to its base form, mapped to its
canonical wheel word and then to its clusters on a wheel, at level 1 (inner, basic emotions) or
level 2 (middle ring) (tables: :mod:`emorl.data.wheels`). Words that map to nothing are dropped:
they never count against precision. Per sample, on the sets of mapped clusters Y (reference) and
Ŷ (prediction):

- the sample is skipped when Y is empty (the reference maps to nothing on that wheel);
- P = R = 0 when Ŷ is empty (an empty answer, or no emotion word in it);
- else P = |Y ∩ Ŷ| / |Ŷ| and R = |Y ∩ Ŷ| / |Y|.

Per wheel, P and R are averaged over the scored samples and F is the harmonic mean of the two
means (not the mean of per-sample F). The EW score is the mean over the wheels of F (``ew_f``), of
P (``ew_p``) and of R (``ew_r``). The hit rate, used on discrete label sets, is the share of scored
samples with Y ∩ Ŷ non-empty (for a one-word reference: its class is among the predicted
clusters), averaged over the wheels the same way. For rewards, :func:`ew_f1_per_sample` gives one
value per sample: its per-sample F1 = 2PR/(P+R), averaged over the wheels that score it.

Answers are split into words by :func:`split_words` (defined here: metrics import neither lalm nor
rl; the audio-LM code imports it from here). Words are looked up one by one: a negation is not
understood ("not happy" counts happy), and multi-word expressions count through their words.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from emorl.atomic import atomic_write
from emorl.data.wheels import Lexicon, load_lexicon

#: The per-utterance file a scorer writes beside scores.json.
PER_UTT_FILE = "ew_per_utt.tsv"

_TOKEN = re.compile(r"[a-z]+(?:['-][a-z]+)*")


def split_words(answer: str | None) -> list[str]:
    """The distinct words of an answer, lower-cased, in order of first appearance.

    Punctuation, digits and any separator (commas, ``and``, brackets, quotes, newlines) split; a
    hyphen or apostrophe inside a word keeps it whole (``light-hearted``). ``None`` and empty or
    blank answers give ``[]``. Non-emotion words stay: the metric drops what maps to nothing.
    """
    if not answer:
        return []
    text = answer.lower().replace("\u2019", "'")
    return list(dict.fromkeys(_TOKEN.findall(text)))


def words_of(words: Sequence[str] | str | None) -> list[str]:
    """:func:`split_words` of an answer string, or of a list of words (each may be a phrase)."""
    if words is None or isinstance(words, str):
        return split_words(words)
    return split_words(", ".join(words))


@functools.lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The shipped wheels and tables, loaded once."""
    return load_lexicon()


def check_level(level: int) -> int:
    if level not in (1, 2):
        raise ValueError(f"wheel level must be 1 or 2, got {level!r}")
    return level


def wheel_names(lexicon: Lexicon, wheels: Sequence[str] | None) -> list[str]:
    """The wheels to score on: all of the lexicon's (sorted) or the given ones, checked."""
    names = sorted(lexicon.wheels) if wheels is None else list(wheels)
    if not names:
        raise ValueError("no wheel to score on")
    for name in names:
        lexicon.wheel(name)
    return names


def map_words(
    words: Sequence[str], lexicon: Lexicon, wheel: str, level: int
) -> tuple[frozenset[str], list[str]]:
    """``(clusters, unmapped words)`` of normalised words on one wheel at one level."""
    clusters: set[str] = set()
    unmapped = []
    for word in words:
        found = lexicon.clusters(word, wheel, level)
        if found:
            clusters |= found
        else:
            unmapped.append(word)
    return frozenset(clusters), unmapped


def sample_pr(predicted: frozenset[str], reference: frozenset[str]) -> tuple[float, float] | None:
    """Per-sample ``(P, R)`` on mapped cluster sets; ``None`` when the sample is skipped."""
    if not reference:
        return None
    if not predicted:
        return 0.0, 0.0
    common = len(predicted & reference)
    return common / len(predicted), common / len(reference)


def harmonic(p: float, r: float) -> float:
    """2PR/(P+R), 0 when both are 0."""
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def ew_f1_per_sample(
    predictions: Sequence[Sequence[str] | str | None],
    references: Sequence[Sequence[str] | str | None],
    lexicon: Lexicon | None = None,
    wheels: Sequence[str] | None = None,
    level: int = 1,
) -> list[float | None]:
    """Per-sample EW-F1 in [0, 1], averaged over the wheels on which the sample is scored.

    ``None`` for a sample skipped on every wheel (its reference maps to nothing); a reward decides
    what that is worth. Predictions and references are answer strings or lists of words.
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    lexicon = lexicon or default_lexicon()
    names = wheel_names(lexicon, wheels)
    check_level(level)
    values: list[float | None] = []
    for prediction, reference in zip(predictions, references):
        pred_words, ref_words = words_of(prediction), words_of(reference)
        f1s = []
        for name in names:
            pr = sample_pr(
                map_words(pred_words, lexicon, name, level)[0],
                map_words(ref_words, lexicon, name, level)[0],
            )
            if pr is not None:
                f1s.append(harmonic(*pr))
        values.append(sum(f1s) / len(f1s) if f1s else None)
    return values


@dataclass(frozen=True)
class UttScore:
    """One utterance: per wheel ``(P, R)`` (``None`` when skipped) and hit, and dropped words."""

    utt: str
    pr: dict[str, tuple[float, float] | None]
    hit: dict[str, bool | None]
    dropped: list[str]  # hypothesis words that map on no wheel
    dropped_ref: list[str]  # reference words that map on no wheel


def ew_scores(
    hypotheses: Mapping[str, Sequence[str] | str],
    references: Mapping[str, Sequence[str] | str],
    lexicon: Lexicon | None = None,
    wheels: Sequence[str] | None = None,
    level: int = 1,
) -> tuple[dict, list[UttScore]]:
    """Score ``utt -> predicted words`` against ``utt -> reference words`` on the wheels.

    Returns ``(scores, per_utt)``. ``scores`` holds percentages (0-100): ``ew_f``, ``ew_p``,
    ``ew_r``, ``hit_rate`` (means over wheels) and per wheel ``ew_f_<w>``, ``ew_p_<w>``,
    ``ew_r_<w>``, ``hit_rate_<w>``; counts ``num_utts``, ``num_skipped`` (references that map to
    nothing on every wheel), ``num_skipped_<w>``, ``num_dropped_words`` (hypothesis words mapped on
    no wheel), ``num_dropped_ref_words``, ``num_empty`` (hypotheses without any word); the mean
    number of words per hypothesis, mapped or not, ``mean_words`` (growing answers show there); and
    ``task`` ("ov"), ``level``, ``wheels``, ``wheel_versions``. Both mappings must hold the same
    utterances; a wheel on which no reference maps stops the scoring.
    """
    if set(hypotheses) != set(references):
        missing = sorted(set(references) - set(hypotheses))
        extra = sorted(set(hypotheses) - set(references))
        raise ValueError(
            f"hypotheses and references differ: {len(missing)} without hypothesis "
            f"(e.g. {missing[:5]}), {len(extra)} without reference (e.g. {extra[:5]})"
        )
    if not references:
        raise ValueError("nothing to score: no utterances")
    lexicon = lexicon or default_lexicon()
    names = wheel_names(lexicon, wheels)
    check_level(level)
    per_utt = []
    num_empty = num_words = 0
    for utt in sorted(references):
        hyp, ref = words_of(hypotheses[utt]), words_of(references[utt])
        num_empty += not hyp
        num_words += len(hyp)
        pr, hit = {}, {}
        mapped_hyp, mapped_ref = set(), set()
        for name in names:
            pred_clusters, pred_unmapped = map_words(hyp, lexicon, name, level)
            ref_clusters, ref_unmapped = map_words(ref, lexicon, name, level)
            mapped_hyp |= set(hyp) - set(pred_unmapped)
            mapped_ref |= set(ref) - set(ref_unmapped)
            pr[name] = sample_pr(pred_clusters, ref_clusters)
            hit[name] = None if pr[name] is None else bool(pred_clusters & ref_clusters)
        dropped = [w for w in hyp if w not in mapped_hyp]
        dropped_ref = [w for w in ref if w not in mapped_ref]
        per_utt.append(UttScore(utt, pr, hit, dropped, dropped_ref))

    scores: dict = {"task": "ov", "level": level, "wheels": names}
    scores["wheel_versions"] = {name: lexicon.wheel(name).version for name in names}
    totals = {"ew_f": [], "ew_p": [], "ew_r": [], "hit_rate": []}
    for name in names:
        scored = [u for u in per_utt if u.pr[name] is not None]
        if not scored:
            raise ValueError(
                f"no reference of the {len(per_utt)} utterances maps on wheel {name!r} "
                f"(e.g. {per_utt[0].utt}: {words_of(references[per_utt[0].utt])})"
            )
        p = sum(u.pr[name][0] for u in scored) / len(scored)
        r = sum(u.pr[name][1] for u in scored) / len(scored)
        hit_rate = sum(u.hit[name] for u in scored) / len(scored)
        for key, value in (
            ("ew_f", harmonic(p, r)),
            ("ew_p", p),
            ("ew_r", r),
            ("hit_rate", hit_rate),
        ):
            scores[f"{key}_{name}"] = 100 * value
            totals[key].append(value)
        scores[f"num_skipped_{name}"] = len(per_utt) - len(scored)
    for key, values in totals.items():
        scores[key] = 100 * sum(values) / len(values)
    scores["num_skipped"] = sum(all(v is None for v in u.pr.values()) for u in per_utt)
    scores["num_dropped_words"] = sum(len(u.dropped) for u in per_utt)
    scores["num_dropped_ref_words"] = sum(len(u.dropped_ref) for u in per_utt)
    scores["num_empty"] = num_empty
    scores["mean_words"] = num_words / len(per_utt)
    scores["num_utts"] = len(per_utt)
    return scores, per_utt


def per_utt_text(per_utt: Sequence[UttScore], wheels: Sequence[str]) -> str:
    """The per-utterance table: a header line, then one tab-separated line per utterance.

    Columns: ``utt``, ``p_<wheel>`` and ``r_<wheel>`` per wheel (percentages with two decimals, or
    ``skip``), ``dropped`` and ``dropped_ref`` (comma-separated words, ``-`` when none).
    """
    header = ["utt"] + [f"{k}_{w}" for w in wheels for k in ("p", "r")] + ["dropped", "dropped_ref"]
    lines = ["\t".join(header)]
    for u in per_utt:
        cells = [u.utt]
        for w in wheels:
            pr = u.pr[w]
            cells += ["skip"] * 2 if pr is None else [f"{100 * pr[0]:.2f}", f"{100 * pr[1]:.2f}"]
        cells += [",".join(u.dropped) or "-", ",".join(u.dropped_ref) or "-"]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def write_ew_scores(
    decode_dir: str | os.PathLike,
    hypotheses: Mapping[str, Sequence[str] | str],
    references: Mapping[str, Sequence[str] | str],
    lexicon: Lexicon | None = None,
    wheels: Sequence[str] | None = None,
    level: int = 1,
) -> dict:
    """Score (:func:`ew_scores`) and write ``decode_dir/scores.json`` and ``decode_dir/``
    :data:`PER_UTT_FILE`, each atomically. Returns the scores."""
    scores, per_utt = ew_scores(hypotheses, references, lexicon, wheels, level)
    decode_dir = Path(decode_dir)
    with atomic_write(decode_dir / PER_UTT_FILE) as f:
        f.write(per_utt_text(per_utt, scores["wheels"]))
    with atomic_write(decode_dir / "scores.json") as f:
        json.dump(scores, f, indent=2)
    return scores
