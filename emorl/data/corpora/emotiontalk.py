"""EmotionTalk: an interactive Chinese multimodal emotion dataset (Sun et al., 2025; Nankai
University and BAAI).

23.6 hours of Mandarin dyadic conversations by 19 actors: 19,250 utterances, 44.1 kHz wav, each
with a transcript, one of 7 emotions (happy, surprise, sad, disgust, anger, fear, neutral), a
5-level sentiment and, for speech, a caption in four aspects (speaker, speaking style, emotion,
overall). License: CC BY-NC-SA 4.0. Download from https://huggingface.co/datasets/BAAI/Emotiontalk
(webdataset tars: extract them) or the Kaggle release linked from
https://github.com/NKU-HLT/EmotionTalk.

Expected layout (``--corpus_dir`` is the extracted release; only the audio part is read)::

    Audio/json/**/<utterance>.json     one JSON object per utterance (a list of them also works):
        {"speaker_id": ..., "file_name": ".../G00003_....wav", "content": "<transcript>",
         "emotion_result": "Happy", "sourceAttr": <caption>, "data": [...], "paragraphs": [...]}
    Audio/wav/**/<utterance>.wav       found by the base name of ``file_name``

The public description names these fields but not the inner structure of ``sourceAttr``: it is read
as a string, or as a mapping from the aspects to strings (keys ``speaker``, ``style``, ``emotion``,
``overall``, or their Chinese names), or a list of these; ``--caption_aspect`` picks the aspect.
``emotion_result`` may be English or Chinese.

Protocol: the official split by recording group, read from the ``G<number>`` in each file name:
``dev`` = groups 1 and 12, ``test`` = groups 3 and 15, ``train`` = the others (15,413 / 1,908 /
1,929 utterances). Labels: happy, surprise, sad, disgust, angry, fear, neutral. Transcripts go into
``text`` and captions into ``utt2caption`` (``--captions false`` leaves them out). Utterance ids are
``<speaker>-<file name>``.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from emorl import cli
from emorl.data.corpora import _common
from emorl.data.corpora._common import CorpusError, Utt
from emorl.data.labels import LABEL_SETS

logger = logging.getLogger(__name__)

LABEL_MAP = {
    **{w: "happy" for w in ("happy", "happiness", "joy", "开心", "高兴", "快乐")},
    **{w: "angry" for w in ("angry", "anger", "生气", "愤怒")},
    **{w: "sad" for w in ("sad", "sadness", "伤心", "悲伤", "难过")},
    **{w: "disgust" for w in ("disgust", "disgusted", "厌恶")},
    **{w: "fear" for w in ("fear", "fearful", "害怕", "恐惧")},
    **{w: "surprise" for w in ("surprise", "surprised", "惊讶", "惊喜")},
    **{w: "neutral" for w in ("neutral", "中性", "平静")},
}
ASPECTS = {
    "overall": ("overall", "整体", "总体"),
    "speaker": ("speaker", "说话人"),
    "style": ("style", "speaking_style", "speaking style", "说话风格", "风格"),
    "emotion": ("emotion", "情感", "情绪"),
}
TOTALS = {"train": 15413, "dev": 1908, "test": 1929}
_GROUP = re.compile(r"G0*(\d+)")


def add_arguments(parser) -> None:
    parser.add_argument("--captions", type=cli.str2bool, default=True, help="write utt2caption")
    parser.add_argument("--caption_aspect", default="overall", choices=sorted(ASPECTS))
    parser.add_argument("--dev_groups", default="1,12", help="recording groups of the dev set")
    parser.add_argument("--test_groups", default="3,15", help="recording groups of the test set")
    _common.add_media_arguments(parser)


def caption_of(value, aspect: str, where: str) -> str | None:
    """The caption text of ``sourceAttr`` for ``aspect``."""
    if value is None or isinstance(value, str):
        return _common.clean_text(value)
    if isinstance(value, list):
        for item in value:
            text = caption_of(item, aspect, where)
            if text is not None:
                return text
        return None
    if isinstance(value, dict):
        keys = {str(k).strip().lower(): v for k, v in value.items()}
        for alias in ASPECTS[aspect]:
            if alias in keys:
                return caption_of(keys[alias], aspect, where)
        raise CorpusError(f"{where}: sourceAttr has no {aspect!r} caption (keys {sorted(keys)})")
    raise CorpusError(
        f"{where}: sourceAttr is a {type(value).__name__}, expected text or a mapping"
    )


def _groups(text: str) -> set[int]:
    return {int(g) for g in text.split(",") if g.strip()}


def _records(path: Path) -> list[dict]:
    try:
        value = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorpusError(f"{path}: not valid JSON ({e})") from None
    records = value if isinstance(value, list) else [value]
    if not all(isinstance(r, dict) for r in records):
        raise CorpusError(f"{path}: expected a JSON object per utterance (or a list of them)")
    return records


def prepare(
    corpus_dir,
    output_dir,
    captions: bool = True,
    caption_aspect: str = "overall",
    dev_groups: str = "1,12",
    test_groups: str = "3,15",
    skip_bad_media: bool = False,
) -> None:
    """Prepare ``train``, ``dev`` and ``test`` from EmotionTalk's audio annotations."""
    corpus_dir, output_dir = Path(corpus_dir).absolute(), Path(output_dir)
    options = dict(
        captions=captions,
        caption_aspect=caption_aspect,
        dev_groups=dev_groups,
        test_groups=test_groups,
    )
    if _common.is_completed(output_dir, "emotiontalk", corpus_dir, options):
        return
    expected = "the extracted EmotionTalk release, with Audio/json/ and Audio/wav/"
    _common.require_dir(corpus_dir, "EmotionTalk", expected)
    json_dir = _common.require_dir(corpus_dir / "Audio" / "json", "EmotionTalk", expected)
    wav_dir = _common.require_dir(corpus_dir / "Audio" / "wav", "EmotionTalk", expected)
    json_files = sorted(json_dir.rglob("*.json"))
    if not json_files:
        raise CorpusError(f"{json_dir}: no annotation files (*.json); expected {expected}")
    wavs = {p.name: p for p in wav_dir.rglob("*.wav")}
    split_of_group = {
        **{g: "dev" for g in _groups(dev_groups)},
        **{g: "test" for g in _groups(test_groups)},
    }
    sets: dict[str, dict[str, Utt]] = {}
    for path in json_files:
        for i, record in enumerate(_records(path)):
            where = f"{path}" if i == 0 else f"{path}[{i}]"
            file_name = str(record.get("file_name") or f"{path.stem}.wav").replace("\\", "/")
            raw = str(record.get("emotion_result", "")).strip()
            label = LABEL_MAP.get(raw.lower())
            if label is None:
                raise CorpusError(
                    f"{where}: emotion_result {raw!r} is not an EmotionTalk emotion "
                    "(happy, surprise, sad, disgust, anger, fear, neutral)"
                )
            group = _GROUP.search(Path(file_name).name) or _GROUP.search(path.name)
            if group is None:
                raise CorpusError(
                    f"{where}: no recording group (G<number>) in the file name {file_name!r}"
                )
            if not record.get("speaker_id"):
                raise CorpusError(f"{where}: no speaker_id")
            spk = _common.clean_id(str(record["speaker_id"]))
            name = Path(file_name).name
            caption = (
                caption_of(record.get("sourceAttr"), caption_aspect, where) if captions else None
            )
            if captions and caption is None:
                raise CorpusError(
                    f"{where}: no caption (sourceAttr); use --captions false for labels only"
                )
            utt = f"{spk}-{_common.clean_id(Path(name).stem)}"
            split = split_of_group.get(int(group.group(1)), "train")
            sets.setdefault(split, {})[utt] = Utt(
                spk=spk,
                wav=wavs.get(name, wav_dir / name),
                emo=label,
                text=_common.clean_text(record.get("content")),
                caption=caption,
            )
    for split, utts in sets.items():
        _common.check_total(f"EmotionTalk {split}", len(utts), TOTALS[split])
    all_utts = {utt: u for utts in sets.values() for utt, u in utts.items()}
    kept = _common.check_media(all_utts, skip_bad=skip_bad_media)
    sets = {
        name: {utt: u for utt, u in utts.items() if utt in kept}
        for name, utts in sorted(sets.items())
    }
    _common.write_sets(
        output_dir, "emotiontalk", corpus_dir, options, sets, LABEL_SETS["emotiontalk"]
    )
