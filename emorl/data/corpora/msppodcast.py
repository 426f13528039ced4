"""MSP-Podcast: natural emotional speech from podcasts (Lotfian & Busso; The University of Texas at
Dallas, MSP lab).

Speaking turns (2.75-11 s) cut from podcast recordings, annotated by crowd workers with a primary
emotion (anger, sadness, happiness, surprise, fear, disgust, contempt, neutral, other) and
arousal/valence/dominance; release 1.11 has about 151,000 turns, of which about 85,000 have a
consensus class; many speakers are identified. Official partitions: Train, Development, Test1,
Test2 (Test3: labels withheld). License: academic license agreement with UT Dallas; request it at
https://www.lab-msp.com/MSP/MSP-Podcast.html.

Expected layout (``--corpus_dir`` is the release directory)::

    Audios/MSP-PODCAST_0001_0008.wav ...   (``Audio/`` in older releases; nested folders are fine)
    Labels/labels_consensus.csv            (``labels_concensus.csv`` in releases before 1.10)
        FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set
        MSP-PODCAST_0001_0008.wav,N,4.2,4.0,4.6,127,Female,Train
    Transcripts/MSP-PODCAST_0001_0008.txt  optional, one transcript per turn

Protocol: the official partitions: ``train``, ``dev``, ``test1``, ``test2`` (and ``test3`` when its
labels are present). EmoClass codes A S H U F D C N map to angry, sad, happy, surprise, fear,
disgust, contempt, neutral (``--label_set msppodcast``, 8 classes) or, with ``--label_set
iemocap4``, only A S H N are kept (the 4-class protocol). O (other) and X (no agreement) are left
out. The speaker is ``spk<SpkrID>``; a turn whose speaker is Unknown is its own speaker. Utterance
ids are ``<speaker>-<file name>``, or the file name for unknown speakers.
"""

from __future__ import annotations

import logging
from pathlib import Path

from emorl.data.corpora import _common
from emorl.data.corpora._common import CorpusError, Utt
from emorl.data.labels import LABEL_SETS

logger = logging.getLogger(__name__)

CLASSES = {
    "A": "angry",
    "S": "sad",
    "H": "happy",
    "U": "surprise",
    "F": "fear",
    "D": "disgust",
    "C": "contempt",
    "N": "neutral",
}
#: Left out: other, no agreement, and no class (the unlabelled Test3 turns).
UNUSED_CLASSES = ("O", "X", "")
KEPT = {"msppodcast": set(CLASSES), "iemocap4": {"A", "S", "H", "N"}}
PARTITIONS = {
    "Train": "train",
    "Development": "dev",
    "Test1": "test1",
    "Test2": "test2",
    "Test3": "test3",
}
COLUMNS = ("FileName", "EmoClass", "SpkrID", "Split_Set")


def add_arguments(parser) -> None:
    parser.add_argument(
        "--label_set",
        default="msppodcast",
        choices=sorted(KEPT),
        help="msppodcast: 8 classes; iemocap4: angry, happy, neutral, sad only",
    )
    _common.add_media_arguments(parser)


def _labels_file(corpus_dir: Path) -> Path:
    for name in ("labels_consensus.csv", "labels_concensus.csv"):
        if (corpus_dir / "Labels" / name).is_file():
            return corpus_dir / "Labels" / name
    raise CorpusError(
        f"{corpus_dir / 'Labels' / 'labels_consensus.csv'}: missing; the MSP-Podcast release "
        "has it (labels_concensus.csv before release 1.10)"
    )


def _audio_index(corpus_dir: Path) -> dict[str, Path]:
    for name in ("Audios", "Audio"):
        if (corpus_dir / name).is_dir():
            return {p.name: p for p in (corpus_dir / name).rglob("*.wav")}
    raise CorpusError(
        f"{corpus_dir / 'Audios'}: no such directory; the MSP-Podcast release has Audios/ "
        "(or Audio/)"
    )


def prepare(
    corpus_dir, output_dir, label_set: str = "msppodcast", skip_bad_media: bool = False
) -> None:
    """Prepare the official partitions of MSP-Podcast."""
    corpus_dir, output_dir = Path(corpus_dir).absolute(), Path(output_dir)
    if label_set not in KEPT:
        raise ValueError(f"label_set must be one of {sorted(KEPT)}, not {label_set!r}")
    options = dict(label_set=label_set)
    if _common.is_completed(output_dir, "msppodcast", corpus_dir, options):
        return
    _common.require_dir(
        corpus_dir, "MSP-Podcast", "the release directory, with Audios/ and Labels/"
    )
    labels_file = _labels_file(corpus_dir)
    audio = _audio_index(corpus_dir)
    sets: dict[str, dict[str, Utt]] = {}
    left_out = 0
    rows = _common.read_csv(labels_file, COLUMNS, "an MSP-Podcast labels file")
    for lineno, row in rows:
        code, partition = row["EmoClass"].strip(), row["Split_Set"].strip()
        if code not in CLASSES and code not in UNUSED_CLASSES:
            raise CorpusError(
                f"{labels_file}:{lineno}: EmoClass {code!r} is not an MSP-Podcast class "
                f"{sorted([*CLASSES, *UNUSED_CLASSES])}"
            )
        if partition not in PARTITIONS:
            raise CorpusError(
                f"{labels_file}:{lineno}: Split_Set {partition!r} is not one of "
                f"{sorted(PARTITIONS)}"
            )
        if code not in KEPT[label_set]:
            left_out += 1
            continue
        name = Path(row["FileName"].strip()).name
        stem = Path(name).stem
        speaker = row["SpkrID"].strip()
        if speaker and speaker.lower() != "unknown":
            spk = f"spk{_common.clean_id(speaker)}"
            utt = f"{spk}-{stem}"
        else:
            spk = utt = stem
        transcript = corpus_dir / "Transcripts" / f"{stem}.txt"
        text = (
            _common.clean_text(transcript.read_text(encoding="utf-8", errors="replace"))
            if transcript.is_file()
            else None
        )
        wav = audio.get(name, corpus_dir / "Audios" / name)
        sets.setdefault(PARTITIONS[partition], {})[utt] = Utt(
            spk=spk, wav=wav, emo=CLASSES[code], text=text
        )
    logger.info("MSP-Podcast: %d turns with other classes (or O, X) left out", left_out)
    all_utts = {utt: u for utts in sets.values() for utt, u in utts.items()}
    kept = _common.check_media(all_utts, skip_bad=skip_bad_media)
    sets = {
        name: {utt: u for utt, u in utts.items() if utt in kept}
        for name, utts in sorted(sets.items())
    }
    _common.write_sets(output_dir, "msppodcast", corpus_dir, options, sets, LABEL_SETS[label_set])
