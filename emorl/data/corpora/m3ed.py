"""M3ED: the Multi-modal Multi-scene Multi-label Emotional Dialogue database (Zhao et al.,
ACL 2022).

24,449 utterances from 990 dyadic dialogues of 56 Chinese TV series (626 speakers), each labelled
with a main emotion (happy, surprise, sad, disgust, anger, fear, neutral) and possibly several
(multi-label). License: for non-commercial research (the authors' agreement); the annotations are at
https://github.com/AIM3-RUC/RUCM3ED, the audio and video clips come on request.

Expected layout (``--corpus_dir`` holds the annotation and the speech clips)::

    annotation.json
        {"<series>": {"<dialog>": {"SpeakerInfo": {"A": {"Name": ..., "Gender": ...}, ...},
                                   "Dialog": {"<series>_<d>_<u>": {"Speaker": "A", "Text": ...,
                                       "EmoAnnotation": {"final_main_emo": "Happy", ...}}}}}}
    splitInfo/movie_list_train.txt  movie_list_val.txt  movie_list_test.txt   one series a line
    modality_speech/A_<series>_<d>_<u>.wav     <speaker letter>_<utterance id>.wav (or in audio/)

Protocol: the official series-independent ``train``, ``dev`` (val) and ``test`` sets. Labels: the
main emotion (anger -> angry). The speaker is the character, ``<series>_<name>``; utterance ids are
``<speaker>-<utterance id>``. ``Text`` goes into ``text``. Twelve clips of the distribution are
empty: the recipe passes ``--skip_bad_media true`` to leave them out (each is reported).
"""

from __future__ import annotations

import json
from pathlib import Path

from emorl.data.corpora import _common
from emorl.data.corpora._common import CorpusError, Utt
from emorl.data.labels import LABEL_SETS

LABEL_MAP = {
    "happy": "happy",
    "surprise": "surprise",
    "sad": "sad",
    "disgust": "disgust",
    "anger": "angry",
    "fear": "fear",
    "neutral": "neutral",
}
SPLITS = {"train": "train", "val": "dev", "test": "test"}
TOTAL = 24449


def add_arguments(parser) -> None:
    _common.add_media_arguments(parser)


def _series_splits(corpus_dir: Path) -> dict[str, str]:
    series = {}
    for split, name in SPLITS.items():
        path = _common.require_file(
            corpus_dir / "splitInfo" / f"movie_list_{split}.txt",
            "M3ED",
            "the official split, one series a line",
        )
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                series[line.strip()] = name
    return series


def _speech_dir(corpus_dir: Path) -> Path:
    for name in ("modality_speech", "audio"):
        if (corpus_dir / name).is_dir():
            return corpus_dir / name
    raise CorpusError(
        f"{corpus_dir / 'modality_speech'}: no such directory; the M3ED speech clips go there "
        "(or in audio/)"
    )


def prepare(corpus_dir, output_dir, skip_bad_media: bool = False) -> None:
    """Prepare ``train``, ``dev`` and ``test`` from M3ED."""
    corpus_dir, output_dir = Path(corpus_dir).absolute(), Path(output_dir)
    options: dict = {}
    if _common.is_completed(output_dir, "m3ed", corpus_dir, options):
        return
    _common.require_dir(corpus_dir, "M3ED", "annotation.json, splitInfo/ and modality_speech/")
    annotation_file = _common.require_file(
        corpus_dir / "annotation.json", "M3ED", "the annotations"
    )
    series_split = _series_splits(corpus_dir)
    speech = _speech_dir(corpus_dir)
    try:
        annotation = json.loads(annotation_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CorpusError(f"{annotation_file}: not valid JSON ({e})") from None
    sets: dict[str, dict[str, Utt]] = {}
    for series, dialogs in annotation.items():
        if series not in series_split:
            raise CorpusError(
                f"{annotation_file}: series {series!r} is in no splitInfo/movie_list_*.txt"
            )
        for dialog_id, dialog in dialogs.items():
            where = f"{annotation_file}: {series}/{dialog_id}"
            try:
                speakers, turns = dialog.get("SpeakerInfo", {}), dialog["Dialog"]
            except (AttributeError, KeyError):
                raise CorpusError(f"{where}: expected a 'Dialog' mapping of utterances") from None
            for utt_id, turn in turns.items():
                try:
                    letter, raw = turn["Speaker"], turn["EmoAnnotation"]["final_main_emo"]
                except (TypeError, KeyError):
                    raise CorpusError(
                        f"{where}/{utt_id}: expected 'Speaker' and 'EmoAnnotation.final_main_emo'"
                    ) from None
                label = LABEL_MAP.get(str(raw).strip().lower())
                if label is None:
                    raise CorpusError(
                        f"{where}/{utt_id}: emotion {raw!r} is not an M3ED emotion "
                        f"{sorted(LABEL_MAP)}"
                    )
                name = (speakers.get(letter) or {}).get("Name") or f"{dialog_id}_{letter}"
                spk = _common.clean_id(f"{series}_{name}")
                wav = speech / f"{letter}_{utt_id}.wav"
                text = _common.clean_text(turn.get("Text"))
                sets.setdefault(series_split[series], {})[f"{spk}-{_common.clean_id(utt_id)}"] = (
                    Utt(spk=spk, wav=wav, emo=label, text=text)
                )
    _common.check_total("M3ED", sum(len(u) for u in sets.values()), TOTAL)
    all_utts = {utt: u for utts in sets.values() for utt, u in utts.items()}
    kept = _common.check_media(all_utts, skip_bad=skip_bad_media)
    sets = {
        name: {utt: u for utt, u in utts.items() if utt in kept}
        for name, utts in sorted(sets.items())
    }
    _common.write_sets(output_dir, "m3ed", corpus_dir, options, sets, LABEL_SETS["m3ed"])
