"""CASIA: the Chinese emotional speech corpus of the Institute of Automation, Chinese Academy of
Sciences (CASIA, 2005).

Mandarin read speech by 4 professional speakers (2 women: liuchanhg, zhaoquanyin; 2 men: wangzhe,
ZhaoZuoxiang) with 6 emotions (angry, fear, happy, neutral, sad, surprise). The commonly
distributed part holds 1200 utterances: 50 sentences x 6 emotions x 4 speakers, 16 kHz wav.
License: for research, from the Chinese Linguistic Data Consortium (http://www.chineseldc.org/);
copies circulate under the name "CASIA database".

Expected layout (``--corpus_dir`` holds one folder per speaker, at any depth)::

    <speaker>/<emotion>/<number>.wav       e.g. liuchanhg/angry/201.wav
        emotion folders: angry fear happy neutral sad surprise (or the Chinese names
        生气 害怕 高兴 中性 悲伤 惊讶)

Protocol: leave-one-speaker-out (``--num_folds`` 4): ``fold<k>_test`` holds the k-th speaker
(sorted by name) and the others give ``fold<k>_train`` and ``fold<k>_dev`` (a seeded random
``--dev_ratio`` of their files). Labels: the 6 emotions of the folder names. No transcripts.
Utterance ids are ``<speaker>-<emotion>_<number>``.
"""

from __future__ import annotations

from pathlib import Path

from emorl.data.corpora import _common
from emorl.data.corpora._common import CorpusError, Utt
from emorl.data.labels import LABEL_SETS

EMOTIONS = {
    "angry": "angry",
    "fear": "fear",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "surprise": "surprise",
    "生气": "angry",
    "害怕": "fear",
    "高兴": "happy",
    "中性": "neutral",
    "悲伤": "sad",
    "惊讶": "surprise",
}
TOTAL = 1200


def add_arguments(parser) -> None:
    _common.add_fold_arguments(parser, num_folds=4)
    _common.add_media_arguments(parser)


def prepare(
    corpus_dir,
    output_dir,
    num_folds: int = 4,
    dev_ratio: float = 0.1,
    seed: int = 0,
    skip_bad_media: bool = False,
) -> None:
    """Prepare ``fold<k>_{train,dev,test}`` from the CASIA speaker/emotion folders."""
    corpus_dir, output_dir = Path(corpus_dir).absolute(), Path(output_dir)
    options = dict(num_folds=num_folds, dev_ratio=dev_ratio, seed=seed)
    if _common.is_completed(output_dir, "casia", corpus_dir, options):
        return
    expected = "one folder per speaker, each with angry/ fear/ happy/ neutral/ sad/ surprise/ wavs"
    _common.require_dir(corpus_dir, "CASIA", expected)
    utts: dict[str, Utt] = {}
    for path in sorted(corpus_dir.rglob("*.wav")):
        folder = path.parent.name
        if folder.lower() not in EMOTIONS and folder not in EMOTIONS:
            raise CorpusError(
                f"{path}: folder {folder!r} is not a CASIA emotion {sorted(EMOTIONS)}; "
                f"expected {expected}"
            )
        emotion = EMOTIONS.get(folder.lower(), EMOTIONS.get(folder))
        spk = _common.clean_id(path.parent.parent.name)
        utt = f"{spk}-{emotion}_{_common.clean_id(path.stem)}"
        if utt in utts:
            raise CorpusError(f"{path}: a second file for {utt} (also {utts[utt].wav})")
        utts[utt] = Utt(spk=spk, wav=path, emo=emotion)
    if not utts:
        raise CorpusError(f"{corpus_dir}: no wav files; expected {expected}")
    _common.check_total("CASIA", len(utts), TOTAL)
    utts = _common.check_media(utts, skip_bad=skip_bad_media)
    sets = _common.speaker_fold_sets(utts, num_folds, dev_ratio, seed)
    _common.write_sets(output_dir, "casia", corpus_dir, options, sets, LABEL_SETS["casia"])
