"""MELD: the Multimodal EmotionLines Dataset (Poria et al., ACL 2019).

13,708 utterances from 1,433 dialogues of the TV series *Friends*, each a short video clip with its
transcript, speaker (the character's name), one of 7 emotions (neutral, joy, sadness, anger,
surprise, fear, disgust) and a sentiment. License: GPL-3.0 (the annotations; the clips are from the
series). Download ``MELD.Raw.tar.gz`` from https://affective-meld.github.io/ (or
https://web.eecs.umich.edu/~mihalcea/downloads/MELD.Raw.tar.gz) and extract it and the three
archives inside it.

Expected layout (``--corpus_dir`` is the extracted ``MELD.Raw``)::

    train_sent_emo.csv  dev_sent_emo.csv  test_sent_emo.csv    with the header
        Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,
        StartTime,EndTime
    train_splits/dia0_utt0.mp4 ...                 (from train.tar.gz)
    dev_splits_complete/dia0_utt0.mp4 ...          (from dev.tar.gz)
    output_repeated_splits_test/dia0_utt0.mp4 ...  (from test.tar.gz)

Protocol: the official ``train``, ``dev`` and ``test`` sets (9988 / 1108 / 2610 utterances once the
known broken clips are left out), 7 classes (joy -> happy, sadness -> sad, anger -> angry).
The audio of each clip is decoded with PyAV into 16 kHz mono wavs under ``--audio_dir``
(default ``<output_dir>/../wav/meld``), done once. Known broken clips of the distribution, skipped
when unreadable or missing: train ``dia125_utt3`` (a clip with no decodable audio) and dev
``dia110_utt7`` (listed in the CSV, no clip). The speaker is the character; utterance ids are
``<speaker>-<set>_dia<D>_utt<U>``. Transcripts go into ``text``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from emorl.data.corpora import _common
from emorl.data.corpora._common import CorpusError, Utt
from emorl.data.labels import LABEL_SETS

logger = logging.getLogger(__name__)

SPLITS = {
    "train": ("train_sent_emo.csv", "train_splits"),
    "dev": ("dev_sent_emo.csv", "dev_splits_complete"),
    "test": ("test_sent_emo.csv", "output_repeated_splits_test"),
}
LABEL_MAP = {
    "neutral": "neutral",
    "joy": "happy",
    "sadness": "sad",
    "anger": "angry",
    "surprise": "surprise",
    "fear": "fear",
    "disgust": "disgust",
}
#: Clips broken in the official distribution (see the module docstring), by set.
KNOWN_BROKEN = {"train": ["dia125_utt3"], "dev": ["dia110_utt7"]}
TOTALS = {"train": 9988, "dev": 1108, "test": 2610}
COLUMNS = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")


def add_arguments(parser) -> None:
    parser.add_argument(
        "--audio_dir", type=Path, help="extracted wavs (default <output_dir>/../wav/meld)"
    )
    parser.add_argument("--nj", type=int, default=2, help="parallel audio extraction processes")
    _common.add_media_arguments(parser)


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 read as cp1252 (the MELD CSVs hold e.g. ``heâ€™s`` for ``he’s``)."""
    try:
        return text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def read_split(csv_path: Path) -> list[dict]:
    """The rows of a MELD CSV, each with its line number, emotions checked."""
    rows = []
    for lineno, row in _common.read_csv(csv_path, COLUMNS, "a MELD CSV"):
        emotion = row["Emotion"].strip().lower()
        if emotion not in LABEL_MAP:
            raise CorpusError(
                f"{csv_path}:{lineno}: emotion {row['Emotion']!r} is not a MELD emotion "
                f"{sorted(LABEL_MAP)}"
            )
        rows.append({**row, "Emotion": emotion, "lineno": lineno})
    return rows


def prepare(
    corpus_dir,
    output_dir,
    audio_dir: Path | None = None,
    nj: int = 2,
    skip_bad_media: bool = False,
) -> None:
    """Prepare ``train``, ``dev`` and ``test`` from MELD.Raw."""
    corpus_dir, output_dir = Path(corpus_dir).absolute(), Path(output_dir)
    audio_dir = (
        Path(audio_dir).absolute() if audio_dir else _common.default_audio_dir(output_dir, "meld")
    )
    options = dict(audio_dir=str(audio_dir))
    if _common.is_completed(output_dir, "meld", corpus_dir, options):
        return
    expected = (
        "MELD.Raw, with train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv and the clips"
    )
    _common.require_dir(corpus_dir, "MELD", expected)
    sets, jobs, known_broken = {}, {}, []
    for name, (csv_name, clip_dir) in SPLITS.items():
        csv_path = _common.require_file(corpus_dir / csv_name, "MELD", f"the {name} labels")
        _common.require_dir(corpus_dir / clip_dir, "MELD", f"{clip_dir}/ with the {name} clips")
        utts = {}
        for row in read_split(csv_path):
            clip = f"dia{int(row['Dialogue_ID'])}_utt{int(row['Utterance_ID'])}"
            spk = _common.clean_id(fix_mojibake(row["Speaker"]))
            utt = f"{spk}-{name}_{clip}"
            if utt in utts:
                raise CorpusError(f"{csv_path}:{row['lineno']}: {clip} appears twice")
            wav = audio_dir / name / f"{clip}.wav"
            text = _common.clean_text(fix_mojibake(row["Utterance"]))
            utts[utt] = Utt(spk=spk, wav=wav, emo=LABEL_MAP[row["Emotion"]], text=text)
            jobs[utt] = (corpus_dir / clip_dir / f"{clip}.mp4", wav)
            if clip in KNOWN_BROKEN.get(name, []):
                known_broken.append(utt)
        sets[name] = utts
    problems = _common.extract_all(jobs, nj=nj)
    all_utts = {utt: u for utts in sets.values() for utt, u in utts.items()}
    kept = _common.check_media(all_utts, known_broken, skip_bad_media, problems)
    sets = {name: {utt: u for utt, u in utts.items() if utt in kept} for name, utts in sets.items()}
    for name, utts in sets.items():
        _common.check_total(f"MELD {name}", len(utts), TOTALS[name])
    _common.write_sets(output_dir, "meld", corpus_dir, options, sets, LABEL_SETS["meld"])
