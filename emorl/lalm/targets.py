"""Automatic SFT targets for any corpus, in any output format of :mod:`emorl.lalm.prompts`.

- content: the transcript (the data dir's ``text``) in quotes, followed by the emotion words it
  contains (``Emotional words: glad.``); empty when the utterance has no transcript.
- acoustics: eGeMAPS functionals put into words by low/medium/high thresholds (tertiles)
  estimated on the training set (:class:`AcousticThresholds`, saved to json and reused for the
  other sets): pitch level (``F0semitoneFrom27.5Hz_sma3nz_amean``), pitch range (its 20th-80th
  percentile range, ``..._pctlrange0-2``), speaking rate (``loudnessPeaksPerSec``, a
  syllable-rate proxy), loudness (``loudness_sma3_amean``) and voice quality (roughness: the mean
  of the z-scored ``jitterLocal``, ``shimmerLocaldB`` and negated ``HNRdBACF``). By default the
  descriptors are first z-scored per speaker (:func:`normalise_by_speaker`): absolute pitch tells
  mostly who speaks, pitch relative to the speaker's other utterances tells how they feel. An
  utterance without voiced frames has no pitch, rate or voice quality: its acoustics say so.
- summary: ``The emotion is <label>.`` (emo, and cap when the set has ``utt2emo``; otherwise the
  caption), ``The emotions are <words>.`` (ov).
- answer: the label (emo), the caption (``utt2caption``, cap), the emotion words (``utt2ovlabels``,
  ov).

The ``targets`` file is a Kaldi-style table, ``<utt> <target>`` a line, sorted by utterance, with
``\\`` written as ``\\\\`` and a newline as ``\\n`` (:func:`write_targets`, :func:`read_targets`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emorl.atomic import atomic_write
from emorl.data.audio import load_utterance
from emorl.data.datadir import DataDir, DataDirError
from emorl.data.feats import read_feats
from emorl.lalm.prompts import LABEL_SYNONYMS, check_task_format, normalise, render_target

logger = logging.getLogger(__name__)

#: The eGeMAPSv02 functionals that the acoustics are written from.
DESCRIPTORS = {
    "pitch_level": "F0semitoneFrom27.5Hz_sma3nz_amean",
    "pitch_range": "F0semitoneFrom27.5Hz_sma3nz_pctlrange0-2",
    "rate": "loudnessPeaksPerSec",
    "loudness": "loudness_sma3_amean",
    "jitter": "jitterLocal_sma3nz_amean",
    "shimmer": "shimmerLocaldB_sma3nz_amean",
    "hnr": "HNRdBACF_sma3nz_amean",
}
#: The functional that tells whether an utterance has voiced frames at all.
VOICING = "VoicedSegmentsPerSec"
#: What is put into words, and its low / medium / high words.
LEVEL_WORDS = {
    "pitch_level": ("low", "medium", "high"),
    "pitch_range": ("narrow", "moderate", "wide"),
    "rate": ("slow", "moderate", "fast"),
    "loudness": ("soft", "moderately loud", "loud"),
    "roughness": ("clear", "slightly rough", "rough"),
}
#: Voice-quality descriptors combined into roughness, with their sign (HNR: more noise is rougher).
ROUGHNESS = {"jitter": 1.0, "shimmer": 1.0, "hnr": -1.0}
#: Emotion words looked for in transcripts: the label names and their synonyms.
EMOTION_WORDS = frozenset(
    word
    for label, synonyms in LABEL_SYNONYMS.items()
    for word in (label, *synonyms)
    if " " not in word and word != "neutral"
)


class TargetError(ValueError):
    """Targets that cannot be built (missing table, bad feature dump, bad thresholds file)."""


def is_voiced(values: Mapping[str, float]) -> bool:
    """Whether openSMILE found voiced frames (its F0 functionals are 0 otherwise)."""
    return values["voiced"] > 0


#: How descriptors are normalised before thresholds apply: per speaker (z-scores over the
#: speaker's utterances of the same set, so that "high pitch" means high for that speaker, not a
#: higher-pitched speaker) or not at all.
NORMALISATIONS = ("speaker", "none")
_VOICED_ITEMS = ("pitch_level", "pitch_range", "rate", "jitter", "shimmer", "hnr")


def normalise_by_speaker(
    descriptors: Mapping[str, Mapping[str, float]], utt2spk: Mapping[str, str]
) -> dict[str, dict[str, float]]:
    """Descriptors z-scored within each speaker: loudness over all the speaker's utterances, the
    others over its voiced ones. A speaker with one utterance (std 0) gets 0."""
    by_speaker: dict[str, list[str]] = {}
    for utt in descriptors:
        by_speaker.setdefault(utt2spk[utt], []).append(utt)
    out = {utt: dict(values) for utt, values in descriptors.items()}
    for utts in by_speaker.values():
        voiced = [u for u in utts if is_voiced(descriptors[u])]
        for item in DESCRIPTORS:
            group = voiced if item in _VOICED_ITEMS else utts
            if not group:
                continue
            values = np.array([descriptors[u][item] for u in group])
            mean, std = values.mean(), values.std()
            for u in group:
                out[u][item] = float((descriptors[u][item] - mean) / std) if std > 0 else 0.0
    return out


def _roughness(values: Mapping[str, float], stats: Mapping[str, Sequence[float]]) -> float:
    return float(
        np.mean([sign * (values[k] - stats[k][0]) / stats[k][1] for k, sign in ROUGHNESS.items()])
    )


@dataclass
class AcousticThresholds:
    """Tertile thresholds per item, and the mean and std of the roughness descriptors."""

    thresholds: dict[str, list[float]]  # item -> [lower tertile, upper tertile]
    roughness_stats: dict[str, list[float]]  # descriptor -> [mean, std] over voiced utterances
    num_utts: int
    num_voiced: int
    descriptors: dict[str, str]  # item -> eGeMAPS functional name
    normalise: str  # what the descriptors were normalised by (NORMALISATIONS)

    @classmethod
    def estimate(
        cls, descriptors: Mapping[str, Mapping[str, float]], normalise: str = "none"
    ) -> AcousticThresholds:
        """Estimate on the training set's descriptors (``utt -> item -> value``), already
        normalised as ``normalise`` says."""
        if normalise not in NORMALISATIONS:
            raise TargetError(f"normalise {normalise!r}: expected one of {NORMALISATIONS}")
        voiced = [v for v in descriptors.values() if is_voiced(v)]
        if len(voiced) < 3:
            raise TargetError(
                f"only {len(voiced)} of {len(descriptors)} utterances have voiced frames: too few "
                "to estimate pitch and voice-quality thresholds"
            )
        stats = {}
        for k in ROUGHNESS:
            values = np.array([v[k] for v in voiced])
            stats[k] = [float(values.mean()), float(values.std()) or 1.0]
        columns = {
            "pitch_level": [v["pitch_level"] for v in voiced],
            "pitch_range": [v["pitch_range"] for v in voiced],
            "rate": [v["rate"] for v in voiced],
            "loudness": [v["loudness"] for v in descriptors.values()],
            "roughness": [_roughness(v, stats) for v in voiced],
        }
        thresholds = {
            item: [float(t) for t in np.quantile(np.asarray(values), [1 / 3, 2 / 3])]
            for item, values in columns.items()
        }
        return cls(thresholds, stats, len(descriptors), len(voiced), dict(DESCRIPTORS), normalise)

    def roughness(self, values: Mapping[str, float]) -> float:
        """Mean z-score of jitter, shimmer and negated HNR (training-set statistics)."""
        return _roughness(values, self.roughness_stats)

    def level(self, item: str, value: float) -> int:
        """0 (below the lower tertile), 1 or 2 (at or above the upper tertile)."""
        low, high = self.thresholds[item]
        return 0 if value < low else 1 if value < high else 2

    def describe(self, values: Mapping[str, float]) -> str:
        """The acoustics of one utterance in words."""
        loud = LEVEL_WORDS["loudness"][self.level("loudness", values["loudness"])]
        if not is_voiced(values):
            return f"No voiced speech detected; {loud} sound."

        def word(item, value):
            return LEVEL_WORDS[item][self.level(item, value)]

        return (
            f"{word('pitch_level', values['pitch_level']).capitalize()} pitch with a "
            f"{word('pitch_range', values['pitch_range'])} range, "
            f"{word('rate', values['rate'])} speaking rate, {loud} voice, "
            f"{word('roughness', self.roughness(values))} voice quality."
        )

    def save(self, path: str | os.PathLike) -> None:
        with atomic_write(path) as f:
            json.dump(asdict(self), f, indent=2, sort_keys=True)

    @classmethod
    def load(cls, path: str | os.PathLike, normalise: str | None = None) -> AcousticThresholds:
        """Read a thresholds file; with ``normalise``, check it was made with that normalisation."""
        try:
            values = json.loads(Path(path).read_text())
            thresholds = cls(**values)
        except FileNotFoundError:
            raise TargetError(
                f"{path}: no thresholds file; estimate it on the training set first "
                "(--estimate_thresholds true)"
            ) from None
        except (json.JSONDecodeError, TypeError) as e:
            raise TargetError(f"{path}: not an acoustic thresholds file ({e})") from None
        if thresholds.descriptors != DESCRIPTORS or set(thresholds.thresholds) != set(LEVEL_WORDS):
            raise TargetError(
                f"{path}: made from other descriptors ({thresholds.descriptors}); re-estimate it"
            )
        if normalise is not None and thresholds.normalise != normalise:
            raise TargetError(
                f"{path}: estimated with normalise {thresholds.normalise!r}, not {normalise!r}"
            )
        return thresholds


def pick_descriptors(
    feature_names: Sequence[str], vector: np.ndarray, where: str
) -> dict[str, float]:
    """``item -> value`` from one eGeMAPS functionals vector."""
    index = {name: i for i, name in enumerate(feature_names)}
    missing = [name for name in (*DESCRIPTORS.values(), VOICING) if name not in index]
    if missing:
        raise TargetError(f"{where}: the eGeMAPS functionals lack {missing}")
    values = {item: float(vector[index[name]]) for item, name in DESCRIPTORS.items()}
    bad = [item for item, value in values.items() if not np.isfinite(value)]
    if bad:
        raise TargetError(f"{where}: non-finite descriptors {bad}")
    values["voiced"] = float(vector[index[VOICING]] > 0 and values["pitch_level"] > 0)
    return values


def compute_descriptors(
    data: DataDir, batch_size: int = 16, progress: bool = True
) -> dict[str, dict[str, float]]:
    """eGeMAPS descriptors of every utterance of ``data``, from its audio (openSMILE)."""
    from emorl.upstream.base import check_waveform
    from emorl.upstream.egemaps import EgemapsUpstream

    upstream = EgemapsUpstream(level="functionals")
    names = upstream.describe()["feature_names"]
    utts = data.utts
    out = {}
    with tqdm(total=len(utts), desc="eGeMAPS", disable=not progress, mininterval=5) as bar:
        for start in range(0, len(utts), batch_size):
            batch = utts[start : start + batch_size]
            waves = [load_utterance(data, utt) for utt in batch]
            for utt, wave in zip(batch, waves):
                check_waveform(wave, utt, upstream.min_samples)
            for utt, feats in zip(batch, upstream.extract(waves, [0])):
                out[utt] = pick_descriptors(names, feats[0, 0], utt)
            bar.update(len(batch))
    return out


def read_descriptors(dump_dir: str | os.PathLike, utts: Sequence[str]) -> dict[str, dict]:
    """eGeMAPS descriptors of ``utts`` from a stage-2 dump of the ``egemaps`` functionals."""
    info, feats = read_feats(dump_dir)
    names = info.extra.get("upstream", {}).get("feature_names")
    if info.upstream != "egemaps" or info.pooling != "none" or not names or info.num_layers != 1:
        raise TargetError(
            f"{dump_dir}: not a dump of the egemaps functionals (upstream {info.upstream!r}, "
            f"pooling {info.pooling!r})"
        )
    missing = sorted(set(utts) - set(feats))
    if missing:
        raise TargetError(f"{dump_dir}: {len(missing)} utterances missing, e.g. {missing[:3]}")
    out = {}
    for utt in utts:
        if feats[utt].shape[0] != 1:
            raise TargetError(f"{dump_dir}: {utt} has {feats[utt].shape[0]} frames, expected 1")
        out[utt] = pick_descriptors(names, feats[utt][0, 0], f"{dump_dir}: {utt}")
    return out


def content_of(transcript: str | None) -> str:
    """The ESR content: the quoted transcript and its emotion words; empty without words."""
    transcript = (transcript or "").strip()
    if not transcript:
        return ""
    found = []
    for word in normalise(transcript).split():
        if word in EMOTION_WORDS and word not in found:
            found.append(word)
    emotional = f" Emotional words: {', '.join(found)}." if found else ""
    return f'"{transcript}"{emotional}'


def _summary_and_answer(task: str, data: DataDir, utt: str) -> tuple[str, str | list[str]]:
    if task == "emo":
        return f"The emotion is {data.utt2emo[utt]}.", data.utt2emo[utt]
    if task == "cap":
        caption = data.utt2caption[utt]
        summary = f"The emotion is {data.utt2emo[utt]}." if data.utt2emo is not None else caption
        return summary, caption
    words = data.ovlabels(utt)
    if not words:
        raise TargetError(f"{data.path}: utterance {utt} has no open-vocabulary emotion word")
    return f"The emotions are {', '.join(words)}.", words


#: The table each task's answers come from.
ANSWER_TABLE = {"emo": "utt2emo", "cap": "utt2caption", "ov": "utt2ovlabels"}


def build_targets(
    data: DataDir,
    task: str,
    fmt: str,
    descriptors: Mapping[str, Mapping[str, float]] | None = None,
    thresholds: AcousticThresholds | None = None,
) -> dict[str, str]:
    """``utt -> target`` for every utterance of ``data`` (``descriptors`` and ``thresholds`` are
    needed by the think and esr formats). Utterances without a transcript get empty content."""
    check_task_format(task, fmt)
    table = ANSWER_TABLE[task]
    if getattr(data, table) is None:
        raise DataDirError(f"{data.path or 'data dir'}: task {task} needs {table}")
    if fmt != "answer" and (descriptors is None or thresholds is None):
        raise TargetError(f"format {fmt} needs acoustic descriptors and thresholds")
    text = data.text or {}
    targets = {}
    for utt in data.utts:
        summary, answer = _summary_and_answer(task, data, utt)
        sections = None
        if fmt != "answer":
            if utt not in descriptors:
                raise TargetError(f"no acoustic descriptors for utterance {utt}")
            sections = {
                "content": content_of(text.get(utt)),
                "acoustics": thresholds.describe(descriptors[utt]),
                "summary": summary,
            }
        try:
            targets[utt] = render_target(fmt, answer, sections)
        except ValueError as e:
            raise TargetError(f"utterance {utt}: {e}") from None
    return targets


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append({"n": "\n", "\\": "\\"}.get(text[i + 1], text[i : i + 2]))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def write_targets(path: str | os.PathLike, targets: Mapping[str, str]) -> None:
    """Write ``<utt> <target>`` lines sorted by utterance, escaped, atomically."""
    with atomic_write(path) as f:
        for utt in sorted(targets):
            if not utt or any(c.isspace() for c in utt) or not targets[utt].strip():
                raise TargetError(f"{path}: bad utterance id {utt!r} or empty target")
            f.write(f"{utt} {_escape(targets[utt])}\n")


def read_targets(path: str | os.PathLike) -> dict[str, str]:
    """Read a targets file written by :func:`write_targets`; errors name the file and line."""
    targets = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        utt, sep, target = line.partition(" ")
        if not sep or not utt or not target.strip():
            raise TargetError(f"{path}:{lineno}: expected '<utt> <target>', got {line!r}")
        if utt in targets:
            raise TargetError(f"{path}:{lineno}: utterance {utt} given twice")
        targets[utt] = _unescape(target)
    return targets


def make_sft_targets(
    data_dir: str | os.PathLike,
    task: str,
    fmt: str,
    output: str | os.PathLike,
    thresholds_path: str | os.PathLike | None = None,
    estimate_thresholds: bool = False,
    egemaps_dump: str | os.PathLike | None = None,
    batch_size: int = 16,
    normalise: str = "speaker",
) -> dict[str, str]:
    """Build and write the targets of a data dir (see :mod:`emorl.bin.make_sft_targets`)."""
    check_task_format(task, fmt)
    if normalise not in NORMALISATIONS:
        raise TargetError(f"normalise {normalise!r}: expected one of {NORMALISATIONS}")
    data = DataDir.load(data_dir)
    if data.text is None:
        logger.info("%s has no text table: ESR content will be empty", data_dir)
    descriptors = thresholds = None
    if fmt != "answer":
        if thresholds_path is None:
            raise TargetError(f"format {fmt} needs a thresholds file (--thresholds)")
        if egemaps_dump is not None:
            descriptors = read_descriptors(egemaps_dump, data.utts)
        else:
            descriptors = compute_descriptors(data, batch_size)
        if normalise == "speaker":
            descriptors = normalise_by_speaker(descriptors, data.utt2spk)
        if estimate_thresholds:
            thresholds = AcousticThresholds.estimate(descriptors, normalise)
            thresholds.save(thresholds_path)
            logger.info(
                "acoustic thresholds from %d utterances (%d voiced) -> %s",
                thresholds.num_utts,
                thresholds.num_voiced,
                thresholds_path,
            )
        else:
            thresholds = AcousticThresholds.load(thresholds_path, normalise)
    targets = build_targets(data, task, fmt, descriptors, thresholds)
    write_targets(output, targets)
    logger.info("%d %s targets in format %s -> %s", len(targets), task, fmt, output)
    return targets
