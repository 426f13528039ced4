"""RAVDESS: the Ryerson Audio-Visual Database of Emotional Speech and Song (Livingstone &
Russo, 2018).

24 professional actors (12 women, 12 men; odd actor numbers are men) say two lexically matched
statements ("Kids are talking by the door", "Dogs are sitting by the door") with 8 emotions
(neutral, calm, happy, sad, angry, fearful, disgust, surprised), at two intensities (no strong
neutral), twice each: 1440 speech files (60 per actor), plus 1012 sung ones. 48 kHz wav.
License: CC BY-NC-SA 4.0. Download ``Audio_Speech_Actors_01-24.zip`` (and optionally
``Audio_Song_Actors_01-24.zip``) from https://zenodo.org/record/1188976 and extract them.

Expected layout (``--corpus_dir`` holds the extracted ``Actor_01`` ... ``Actor_24`` folders, at
any depth)::

    Actor_01/03-01-01-01-01-01-01.wav
        modality-channel-emotion-intensity-statement-repetition-actor: modality 03 = audio-only;
        channel 01 = speech, 02 = song; emotion 01..08 as listed above

Protocol: speaker-independent folds. The actors, sorted, are cut into ``--num_folds`` contiguous
blocks (default 4 blocks of 6: three women, three men); ``fold<k>_test`` holds block k's actors and
the other actors give ``fold<k>_train`` and ``fold<k>_dev`` (a seeded random ``--dev_ratio`` of
their files). ``--vocal_channel`` picks speech (default), song or all. Labels: neutral, calm,
happy, sad, angry, fear (fearful), disgust, surprise (surprised). The statement goes into ``text``;
utterance ids are ``Actor_NN-<file name>``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from emorl.data.corpora import _common
from emorl.data.corpora._common import CorpusError, Utt
from emorl.data.labels import LABEL_SETS

logger = logging.getLogger(__name__)

EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fear",
    "07": "disgust",
    "08": "surprise",
}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
CHANNELS = {"speech": ["01"], "song": ["02"], "all": ["01", "02"]}
TOTALS = {"speech": 1440, "song": 1012, "all": 2452}
_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.wav$")


def add_arguments(parser) -> None:
    parser.add_argument("--vocal_channel", default="speech", choices=sorted(CHANNELS))
    _common.add_fold_arguments(parser, num_folds=4)
    _common.add_media_arguments(parser)


def prepare(
    corpus_dir,
    output_dir,
    vocal_channel: str = "speech",
    num_folds: int = 4,
    dev_ratio: float = 0.1,
    seed: int = 0,
    skip_bad_media: bool = False,
) -> None:
    """Prepare ``fold<k>_{train,dev,test}`` from the RAVDESS audio-only files."""
    corpus_dir, output_dir = Path(corpus_dir).absolute(), Path(output_dir)
    options = dict(vocal_channel=vocal_channel, num_folds=num_folds, dev_ratio=dev_ratio, seed=seed)
    if _common.is_completed(output_dir, "ravdess", corpus_dir, options):
        return
    expected = "the extracted Audio_Speech_Actors_01-24.zip, folders Actor_01 ... Actor_24"
    _common.require_dir(corpus_dir, "RAVDESS", expected)
    utts: dict[str, Utt] = {}
    duplicates: list[Path] = []
    for path in sorted(corpus_dir.rglob("*.wav")):
        match = _NAME.match(path.name)
        if match is None:
            continue
        modality, channel, emotion, _, statement, _, actor = match.groups()
        if modality != "03" or channel not in CHANNELS[vocal_channel]:
            continue
        if emotion not in EMOTIONS or statement not in STATEMENTS:
            raise CorpusError(
                f"{path}: emotion code {emotion} or statement code {statement} is not a RAVDESS "
                "code "
                f"(emotions {sorted(EMOTIONS)}, statements {sorted(STATEMENTS)})"
            )
        spk = f"Actor_{actor}"
        utt = f"{spk}-{path.stem}"
        if utt in utts:
            duplicates.append(path)
            continue
        utts[utt] = Utt(spk=spk, wav=path, emo=EMOTIONS[emotion], text=STATEMENTS[statement])
    if not utts:
        raise CorpusError(
            f"{corpus_dir}: no RAVDESS {vocal_channel} files (03-0X-..-..-..-..-NN.wav); "
            f"expected {expected}"
        )
    if duplicates:
        logger.warning(
            "%d files are second copies of others (e.g. %s) and are left out",
            len(duplicates),
            duplicates[0],
        )
    utts = _common.check_media(utts, skip_bad=skip_bad_media)
    _common.check_total(f"RAVDESS ({vocal_channel})", len(utts), TOTALS[vocal_channel])
    sets = _common.speaker_fold_sets(utts, num_folds, dev_ratio, seed)
    _common.write_sets(output_dir, "ravdess", corpus_dir, options, sets, LABEL_SETS["ravdess"])
