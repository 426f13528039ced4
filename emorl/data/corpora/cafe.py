"""CaFE: the Canadian French Emotional speech dataset (Gournay, Lahaie & Lefebvre, ACM MMSys 2018).

12 actors (6 men: odd numbers; 6 women: even numbers) say 6 French sentences with 6 emotions
(Colère, Dégoût, Joie, Peur, Surprise, Tristesse) at two intensities (Faible, Fort), plus Neutre:
936 files. Two versions: 48 kHz/16-bit wav (``CaFE_48k.zip``) and 192 kHz/24-bit aiff.
License: CC BY-NC-SA 4.0. Download from https://zenodo.org/record/1478765.

Expected layout (``--corpus_dir`` is the extracted ``CaFE_48k`` or the 192 kHz version; the
emotion/intensity folders are not needed, the file names carry everything)::

    Colère/Faible/01-C-1-1.wav            actor-emotion-intensity-sentence
    Neutre/01-N-1.wav                     actor-emotion-sentence (neutral has no intensity)
        emotion codes: C colère, D dégoût, J joie, N neutre, P peur, S surprise, T tristesse

Protocol: speaker-independent folds. The actors, sorted, are cut into ``--num_folds`` contiguous
blocks (default 6 blocks of 2: one man and one woman); ``fold<k>_test`` holds block k's actors and
the others give ``fold<k>_train`` and ``fold<k>_dev`` (a seeded random ``--dev_ratio`` of their
files). Labels: angry, disgust, happy, neutral, fear, surprise, sad. The French sentence goes into
``text``. ``--audio_ext aiff`` reads the 192 kHz version. Utterance ids are the file names (they
start with the actor number).
"""

from __future__ import annotations

import re
from pathlib import Path

from emorl.data.corpora import _common
from emorl.data.corpora._common import CorpusError, Utt
from emorl.data.labels import LABEL_SETS

EMOTIONS = {
    "C": "angry",
    "D": "disgust",
    "J": "happy",
    "N": "neutral",
    "P": "fear",
    "S": "surprise",
    "T": "sad",
}
SENTENCES = {
    "1": "Un cheval fou dans mon jardin",
    "2": "Deux ânes aigris au pelage brun",
    "3": "Trois cygnes aveugles au bord du lac",
    "4": "Quatre vieilles truies éléphantesques",
    "5": "Cinq pumas fiers et passionnés",
    "6": "Six ours aimants domestiqués",
}
TOTAL = 936
_NAME = re.compile(r"^(\d\d)-([A-Z])(?:-([12]))?-(\d)$")


def add_arguments(parser) -> None:
    parser.add_argument(
        "--audio_ext", default="wav", choices=["wav", "aiff"], help="aiff: the 192 kHz version"
    )
    _common.add_fold_arguments(parser, num_folds=6)
    _common.add_media_arguments(parser)


def prepare(
    corpus_dir,
    output_dir,
    audio_ext: str = "wav",
    num_folds: int = 6,
    dev_ratio: float = 0.1,
    seed: int = 0,
    skip_bad_media: bool = False,
) -> None:
    """Prepare ``fold<k>_{train,dev,test}`` from CaFE."""
    corpus_dir, output_dir = Path(corpus_dir).absolute(), Path(output_dir)
    options = dict(audio_ext=audio_ext, num_folds=num_folds, dev_ratio=dev_ratio, seed=seed)
    if _common.is_completed(output_dir, "cafe", corpus_dir, options):
        return
    expected = (
        f"CaFE_48k (or the 192 kHz version with --audio_ext aiff), files AA-E-I-S.{audio_ext}"
    )
    _common.require_dir(corpus_dir, "CaFE", expected)
    utts: dict[str, Utt] = {}
    for path in sorted(corpus_dir.rglob(f"*.{audio_ext}")):
        match = _NAME.match(path.stem)
        if match is None:
            raise CorpusError(
                f"{path}: not a CaFE file name (AA-E-I-S.{audio_ext} or AA-N-S.{audio_ext})"
            )
        actor, emotion, _, sentence = match.groups()
        if emotion not in EMOTIONS or sentence not in SENTENCES:
            raise CorpusError(
                f"{path}: emotion code {emotion!r} or sentence {sentence!r} is not a CaFE code "
                f"(emotions {sorted(EMOTIONS)}, sentences 1-6)"
            )
        if path.stem in utts:
            raise CorpusError(
                f"{path}: a second copy of {path.stem} (also {utts[path.stem].wav}); point "
                "the corpus directory at one version of CaFE"
            )
        utts[path.stem] = Utt(spk=actor, wav=path, emo=EMOTIONS[emotion], text=SENTENCES[sentence])
    if not utts:
        raise CorpusError(f"{corpus_dir}: no CaFE files; expected {expected}")
    _common.check_total("CaFE", len(utts), TOTAL)
    utts = _common.check_media(utts, skip_bad=skip_bad_media)
    sets = _common.speaker_fold_sets(utts, num_folds, dev_ratio, seed)
    _common.write_sets(output_dir, "cafe", corpus_dir, options, sets, LABEL_SETS["cafe"])
