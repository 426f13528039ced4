"""CREMA-D: the Crowd-sourced Emotional Multimodal Actors Dataset (Cao et al., 2014).

7442 clips from 91 actors (48 men, 43 women, ages 20-74, several ethnicities) saying 12 sentences
with 6 emotions (anger, disgust, fear, happy, neutral, sad) at four intensity levels (low, medium,
high, unspecified). 16 kHz wav. License: Open Database License (ODbL 1.0). Get it from
https://github.com/CheyneyComputerScience/CREMA-D (git-lfs) or its mirrors.

Expected layout (``--corpus_dir`` is the repository checkout)::

    AudioWAV/1001_DFA_ANG_XX.wav
        actor_sentence_emotion_level: actor 1001..1091; sentence one of IEO TIE IOM IWW TAI MTI
        IWL ITH DFA ITS TSI WSI; emotion ANG DIS FEA HAP NEU SAD; level LO MD HI XX

Protocol: speaker-independent folds. The actors, sorted, are cut into ``--num_folds`` contiguous
blocks (default 5); ``fold<k>_test`` holds block k's actors and the other actors give
``fold<k>_train`` and ``fold<k>_dev`` (a seeded random ``--dev_ratio`` of their clips). Labels are
the intended emotions of the file names (angry, disgust, fear, happy, neutral, sad); the sentence
goes into ``text``. Utterance ids are the file names (they start with the actor id). Known broken
file: ``1076_MTI_SAD_XX.wav`` (no audio, a documented issue of the distribution) is skipped when
unreadable.
"""

from __future__ import annotations

import re
from pathlib import Path

from emorl.data.corpora import _common
from emorl.data.corpora._common import CorpusError, Utt
from emorl.data.labels import LABEL_SETS

EMOTIONS = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fear",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
SENTENCES = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
KNOWN_BROKEN = ["1076_MTI_SAD_XX"]
TOTAL = 7442
_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{1,2})\.wav$")


def add_arguments(parser) -> None:
    _common.add_fold_arguments(parser, num_folds=5)
    _common.add_media_arguments(parser)


def prepare(
    corpus_dir,
    output_dir,
    num_folds: int = 5,
    dev_ratio: float = 0.1,
    seed: int = 0,
    skip_bad_media: bool = False,
) -> None:
    """Prepare ``fold<k>_{train,dev,test}`` from CREMA-D's AudioWAV."""
    corpus_dir, output_dir = Path(corpus_dir).absolute(), Path(output_dir)
    options = dict(num_folds=num_folds, dev_ratio=dev_ratio, seed=seed)
    if _common.is_completed(output_dir, "cremad", corpus_dir, options):
        return
    wav_dir = _common.require_dir(
        corpus_dir / "AudioWAV",
        "CREMA-D",
        "the CREMA-D checkout, with AudioWAV/1001_DFA_ANG_XX.wav ...",
    )
    utts: dict[str, Utt] = {}
    for path in sorted(wav_dir.glob("*.wav")):
        match = _NAME.match(path.name)
        if match is None:
            raise CorpusError(f"{path}: not a CREMA-D file name (actor_sentence_emotion_level.wav)")
        actor, sentence, emotion, _ = match.groups()
        if emotion not in EMOTIONS:
            raise CorpusError(
                f"{path}: emotion {emotion} is not a CREMA-D emotion {sorted(EMOTIONS)}"
            )
        if sentence not in SENTENCES:
            raise CorpusError(
                f"{path}: sentence {sentence} is not a CREMA-D sentence {sorted(SENTENCES)}"
            )
        utts[path.stem] = Utt(spk=actor, wav=path, emo=EMOTIONS[emotion], text=SENTENCES[sentence])
    if not utts:
        raise CorpusError(f"{wav_dir}: no wav files; expected AudioWAV/1001_DFA_ANG_XX.wav ...")
    _common.check_total("CREMA-D (files in AudioWAV)", len(utts), TOTAL)
    utts = _common.check_media(utts, KNOWN_BROKEN, skip_bad_media)
    sets = _common.speaker_fold_sets(utts, num_folds, dev_ratio, seed)
    _common.write_sets(output_dir, "cremad", corpus_dir, options, sets, LABEL_SETS["cremad"])
