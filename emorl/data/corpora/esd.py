"""ESD: the Emotional Speech Dataset (Zhou, Sisman, Liu & Li, ICASSP 2021).

20 speakers read 350 parallel sentences in 5 emotions (neutral, angry, happy, sad, surprise):
speakers 0001-0010 in Mandarin, 0011-0020 in English (5 women and 5 men each); 35,000 utterances,
16 kHz wav. Each speaker's utterances of each emotion come split into train (300), evaluation (20)
and test (30). License: for non-commercial research (the release agreement of the authors);
download from https://github.com/HLTSingapore/Emotional-Speech-Data.

Expected layout (``--corpus_dir`` is the extracted ``Emotional Speech Dataset (ESD)``)::

    0011/0011.txt                          transcripts: 0011_000001<TAB>text<TAB>emotion
    0011/Angry/train/0011_000351.wav       also evaluation/ and test/
    0011/Happy/ Neutral/ Sad/ Surprise/

Protocol: ESD's own split (speaker-dependent): ``<lang>_train``, ``<lang>_dev`` (ESD's
"evaluation") and ``<lang>_test`` for each language of ``--languages`` (``en``: English part,
``zh``: Mandarin part). Labels are the emotion folders (neutral, angry, happy, sad, surprise);
transcripts go into ``text`` (the transcript files come in several encodings: UTF-8, UTF-16,
GB2312, Latin-1; all are read). Utterance ids are ESD's (they start with the speaker id).
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
    "Neutral": "neutral",
    "Angry": "angry",
    "Happy": "happy",
    "Sad": "sad",
    "Surprise": "surprise",
}
SPLITS = {"train": "train", "evaluation": "dev", "test": "test"}
LANGUAGES = {"zh": range(1, 11), "en": range(11, 21)}
ENCODINGS = {"zh": ("utf-8", "gb18030"), "en": ("utf-8", "cp1252", "latin-1")}
#: The emotion words that end a transcript line (English and Mandarin speakers).
EMOTION_WORDS = {*EMOTIONS, "中立", "生气", "快乐", "伤心", "惊喜"}
TOTAL_PER_LANGUAGE = 17500
_LINE = re.compile(r"^(\d{4}_\d{6})\s+(.*)$")


def add_arguments(parser) -> None:
    parser.add_argument(
        "--languages", default="en,zh", help="comma-separated: en (English), zh (Mandarin)"
    )
    _common.add_media_arguments(parser)


def read_transcripts(path: Path, language: str) -> dict[str, str]:
    """``utt -> text`` from a speaker's transcript file (the trailing emotion word removed)."""
    texts = {}
    for line in _common.read_text(path, ENCODINGS[language]).splitlines():
        match = _LINE.match(line.strip().lstrip("\ufeff"))
        if match is None:
            continue
        parts = match.group(2).rsplit(maxsplit=1)
        text = parts[0] if len(parts) == 2 and parts[1] in EMOTION_WORDS else match.group(2)
        texts[match.group(1)] = text
    return texts


def prepare(corpus_dir, output_dir, languages: str = "en,zh", skip_bad_media: bool = False) -> None:
    """Prepare ``<lang>_{train,dev,test}`` from ESD."""
    corpus_dir, output_dir = Path(corpus_dir).absolute(), Path(output_dir)
    langs = [lang.strip() for lang in languages.split(",") if lang.strip()]
    if not langs or set(langs) - set(LANGUAGES):
        raise ValueError(
            f"languages must be a comma-separated list of {sorted(LANGUAGES)}, not {languages!r}"
        )
    options = dict(languages=",".join(langs))
    if _common.is_completed(output_dir, "esd", corpus_dir, options):
        return
    expected = "the extracted ESD, with speaker folders 0001 ... 0020"
    _common.require_dir(corpus_dir, "ESD", expected)
    sets: dict[str, dict[str, Utt]] = {}
    for lang in langs:
        for number in LANGUAGES[lang]:
            spk = f"{number:04d}"
            spk_dir = _common.require_dir(corpus_dir / spk, "ESD", expected)
            texts = read_transcripts(
                _common.require_file(spk_dir / f"{spk}.txt", "ESD", "the speaker's transcripts"),
                lang,
            )
            for folder, emotion in EMOTIONS.items():
                emo_dir = _common.require_dir(spk_dir / folder, "ESD", expected)
                for split_dir, split in SPLITS.items():
                    if not (emo_dir / split_dir).is_dir():
                        raise CorpusError(
                            f"{emo_dir / split_dir}: no such directory; ESD's split folders "
                            f"{sorted(SPLITS)} are expected under each emotion folder"
                        )
                    for path in sorted((emo_dir / split_dir).glob("*.wav")):
                        text = _common.clean_text(texts.get(path.stem))
                        utt = Utt(spk=spk, wav=path, emo=emotion, text=text)
                        sets.setdefault(f"{lang}_{split}", {})[path.stem] = utt
        found = sum(len(sets.get(f"{lang}_{split}", {})) for split in SPLITS.values())
        _common.check_total(f"ESD ({lang})", found, TOTAL_PER_LANGUAGE)
    all_utts = {utt: u for utts in sets.values() for utt, u in utts.items()}
    kept = _common.check_media(all_utts, skip_bad=skip_bad_media)
    sets = {
        name: {utt: u for utt, u in utts.items() if utt in kept}
        for name, utts in sorted(sets.items())
    }
    _common.write_sets(output_dir, "esd", corpus_dir, options, sets, LABEL_SETS["esd"])
