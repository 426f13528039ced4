"""Recognise emotions in audio with a trained model: a Python API over experiment dirs and packed
models.

    from emorl import Recognizer
    rec = Recognizer.from_exp_dir("egs/mini_emo/emo1/exp/whisper_tiny.en/ser_ser/seed1")
    rec.recognize("clip.wav").label               # also .posteriors, .top(3)
    rec.recognize(samples, sample_rate=44100)      # an array, any rate, [n] or [n, channels]
    rec.recognize_batch(["a.flac", "b.mp4"])       # batched
    Recognizer.from_pretrained("model.zip")        # a packed model (emorl.bin.pack_model)

The kind of an exp dir is detected from what it holds (:mod:`emorl.infer.base`); the kinds are
``ser`` (:mod:`emorl.infer.ser`: stage 3 and stage 4 classifiers). A new kind subclasses
:class:`Recognizer`, registers itself with :func:`register_kind`, and is imported here.
"""

from emorl.infer import ser  # noqa: F401  (registers the "ser" kind)
from emorl.infer.base import (
    KINDS,
    Recognition,
    Recognizer,
    RecognizerError,
    detect_kind,
    register_kind,
)
from emorl.infer.pack import pack_model, read_manifest

__all__ = [
    "KINDS",
    "Recognition",
    "Recognizer",
    "RecognizerError",
    "detect_kind",
    "pack_model",
    "read_manifest",
    "register_kind",
]
