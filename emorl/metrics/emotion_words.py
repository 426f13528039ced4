"""The emotion a caption names: a lexicon of emotion words per class, English and Chinese.

Emo-F1 (:mod:`emorl.metrics.caption`) and the consistency term of the Emo-GRPO reward read the
emotion of a caption with :func:`extract_emotion`. A lexicon rather than a classifier: it needs no
training data, is the same for every run, and its rules can be read and tested; its accuracy on the
reference captions of a test set is reported next to Emo-F1 (``emo_extractor_acc_on_refs``), so that
a low Emo-F1 caused by the extractor is visible.

Classes: angry, disgust, fear, happy, neutral, sad, surprise (the label names of the captioning
corpora, mini_emo and EmotionTalk). The rules, kept simple on purpose:

- English: the caption is lower-cased and split into words (letters, digits, apostrophes); an entry
  is a word or a phrase of words and matches whole words only ("mad" does not match "made").
- Chinese: entries match as substrings (no word segmentation).
- At each position the longest entry wins, left to right, without overlaps: "unhappy" and
  不开心 are sad, 惊喜 is surprise, 不安 is fear, "no particular emotion" is neutral.
- Negation: a mention is dropped when a negator stands among the 3 words before it (not, no,
  never, without, hardly, barely, neither, nor, or a word ending in n't) or among the 3
  characters before it (不 没 无 未 别, except inside 无比 不禁 不仅 不止 不由 忍不住, which do not
  negate). A negated mention counts for no class: it is not read as the opposite emotion.
- The result is the class with the most remaining mentions; a tie goes to the class mentioned
  last (captions tend to end on the overall emotion). No mention: ``None``.

Known limits: no word sense disambiguation ("a mad rush" is angry), negation scope is a fixed
window ("not only happy but ..." drops "happy"), and words outside the lexicon are missed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Emotion words per class: ``{class: {"en": words and phrases, "zh": words}}``.
LEXICON: dict[str, dict[str, tuple[str, ...]]] = {
    "angry": {
        "en": (
            "angry", "angrily", "anger", "angered", "furious", "furiously", "fury", "irritated",
            "irritation", "irritable", "annoyed", "annoyance", "mad", "outraged", "outrage",
            "rage", "enraged", "frustrated", "frustration", "hostile", "indignant", "resentful",
        ),
        "zh": (
            "生气", "愤怒", "恼怒", "气愤", "恼火", "发火", "暴躁", "不满", "不耐烦", "怒气", "怒",
        ),
    },
    "disgust": {
        "en": (
            "disgust", "disgusted", "disgusting", "revulsion", "repulsed", "repelled", "contempt",
            "contemptuous", "loathing", "distaste", "scorn", "scornful",
        ),
        "zh": ("厌恶", "嫌弃", "反感", "恶心", "鄙视", "讨厌", "嫌恶", "憎恶"),
    },
    "fear": {
        "en": (
            "fear", "fearful", "fearfully", "afraid", "scared", "frightened", "terrified",
            "terror", "anxious", "anxiety", "nervous", "nervously", "worried", "worry", "panic",
            "panicked", "panicky", "dread", "alarmed", "apprehensive", "timid", "uneasy",
        ),
        "zh": (
            "害怕", "恐惧", "惊恐", "担心", "担忧", "紧张", "不安", "焦虑", "畏惧", "惧怕", "慌张",
            "惊慌", "胆怯",
        ),
    },
    "happy": {
        "en": (
            "happy", "happily", "happiness", "cheerful", "cheerfully", "cheery", "joyful", "joy",
            "joyous", "delighted", "delight", "glad", "excited", "excitement", "pleased",
            "elated", "upbeat", "thrilled", "jubilant", "merry", "amused",
        ),
        "zh": (
            "开心", "高兴", "快乐", "愉快", "喜悦", "兴奋", "欢快", "愉悦", "欣喜", "欢喜", "欢乐",
            "满意",
        ),
    },
    "neutral": {
        "en": (
            "neutral", "calm", "calmly", "composed", "indifferent", "relaxed", "unemotional",
            "emotionless", "impassive", "matter of fact", "matter-of-fact", "no emotion",
            "no particular emotion", "no strong emotion", "no obvious emotion",
            "no clear emotion", "without emotion", "without any emotion",
        ),
        "zh": (
            "中性", "平静", "平淡", "平和", "中立", "冷静", "平稳", "淡定", "无明显情绪",
            "无明显的情绪", "没有明显情绪", "没有明显的情绪", "没有特别的情绪", "无特别情绪",
        ),
    },
    "sad": {
        "en": (
            "sad", "sadly", "sadness", "sorrowful", "sorrow", "unhappy", "gloomy", "disappointed",
            "disappointment", "heartbroken", "depressed", "miserable", "melancholy",
            "melancholic", "grief", "grieving", "upset", "downcast", "dejected", "mournful",
            "tearful", "despair", "despondent",
        ),
        "zh": (
            "伤心", "悲伤", "难过", "沮丧", "失落", "低落", "哀伤", "忧伤", "委屈", "悲痛", "痛苦",
            "失望", "不开心", "不高兴", "不快", "郁闷", "哭泣", "心酸",
        ),
    },
    "surprise": {
        "en": (
            "surprise", "surprised", "surprising", "astonished", "astonishment", "amazed",
            "amazement", "shocked", "shock", "startled", "stunned", "astounded", "incredulous",
            "disbelief",
        ),
        "zh": (
            "惊讶", "惊喜", "吃惊", "震惊", "意外", "惊奇", "诧异", "惊叹", "出乎意料", "没想到",
        ),
    },
}  # fmt: skip

#: Anchor words per class for embedding spaces (the Emo-GRPO reward): a few common words each.
ANCHOR_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "angry": {"en": ("angry", "furious", "irritated", "annoyed"), "zh": ("生气", "愤怒", "恼火")},
    "disgust": {"en": ("disgusted", "repulsed", "contempt"), "zh": ("厌恶", "恶心", "反感")},
    "fear": {"en": ("fearful", "scared", "afraid", "anxious"), "zh": ("害怕", "恐惧", "紧张")},
    "happy": {"en": ("happy", "cheerful", "joyful", "glad"), "zh": ("开心", "高兴", "快乐")},
    "neutral": {"en": ("neutral", "calm", "unemotional"), "zh": ("中性", "平静", "平淡")},
    "sad": {"en": ("sad", "sorrowful", "unhappy", "gloomy"), "zh": ("伤心", "悲伤", "难过")},
    "surprise": {"en": ("surprised", "astonished", "amazed"), "zh": ("惊讶", "吃惊", "震惊")},
}

CLASSES: tuple[str, ...] = tuple(sorted(LEXICON))

_EN_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)*")
_EN_NEGATORS = frozenset(("not", "no", "never", "without", "hardly", "barely", "neither", "nor"))
_EN_WINDOW = 3
_ZH_NEGATORS = frozenset("不没无未别")
#: Words that start with (or contain) a negator character but do not negate what follows.
_ZH_NOT_NEGATING = ("无比", "不禁", "不仅", "不止", "不由", "忍不住")
_ZH_WINDOW = 3
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class LexiconError(ValueError):
    """A class has no entry in the lexicon."""


def check_classes(classes: Iterable[str] | None) -> tuple[str, ...]:
    if classes is None:
        return CLASSES
    classes = tuple(classes)
    unknown = sorted(set(classes) - set(LEXICON))
    if unknown:
        raise LexiconError(
            f"no emotion words for the classes {unknown}; the lexicon has {list(CLASSES)}"
        )
    return classes


def _build_index() -> tuple[dict[tuple[str, ...], str], int, dict[str, str], int]:
    en: dict[tuple[str, ...], str] = {}
    zh: dict[str, str] = {}
    for emotion, words in LEXICON.items():
        for entry in words["en"]:
            key = tuple(_EN_WORD.findall(entry))
            if en.setdefault(key, emotion) != emotion:
                raise LexiconError(f"{entry!r} is listed for {en[key]!r} and {emotion!r}")
        for entry in words["zh"]:
            if zh.setdefault(entry, emotion) != emotion:
                raise LexiconError(f"{entry!r} is listed for {zh[entry]!r} and {emotion!r}")
    return en, max(map(len, en)), zh, max(map(len, zh))


_EN_INDEX, _EN_LONGEST, _ZH_INDEX, _ZH_LONGEST = _build_index()


def _en_negated(words: list[str], i: int) -> bool:
    before = words[max(0, i - _EN_WINDOW) : i]
    return any(w in _EN_NEGATORS or w.endswith(("n't", "n’t")) for w in before)


def _zh_negates(text: str, j: int) -> bool:
    """Is the character at ``j`` a negator (not inside a word like 无比 that does not negate)?"""
    if text[j] not in _ZH_NEGATORS:
        return False
    return not any(
        text.startswith(w, k)
        for w in _ZH_NOT_NEGATING
        for k in range(max(0, j - len(w) + 1), j + 1)
    )


def _zh_negated(text: str, i: int) -> bool:
    return any(_zh_negates(text, j) for j in range(max(0, i - _ZH_WINDOW), i))


def emotion_mentions(caption: str) -> list[tuple[str, str, bool]]:
    """Every lexicon entry found in ``caption``: ``(class, entry, negated)``, English then Chinese.

    Within each language the mentions are in reading order.
    """
    mentions = []
    words = _EN_WORD.findall(caption.lower())
    i = 0
    while i < len(words):
        for n in range(min(_EN_LONGEST, len(words) - i), 0, -1):
            emotion = _EN_INDEX.get(tuple(words[i : i + n]))
            if emotion is not None:
                mentions.append((emotion, " ".join(words[i : i + n]), _en_negated(words, i)))
                i += n
                break
        else:
            i += 1
    if _CJK.search(caption):
        i = 0
        while i < len(caption):
            for n in range(min(_ZH_LONGEST, len(caption) - i), 0, -1):
                emotion = _ZH_INDEX.get(caption[i : i + n])
                if emotion is not None:
                    mentions.append((emotion, caption[i : i + n], _zh_negated(caption, i)))
                    i += n
                    break
            else:
                i += 1
    return mentions


def extract_emotion(caption: str, classes: Iterable[str] | None = None) -> str | None:
    """The emotion class that ``caption`` names, or ``None`` (rules in the module docstring).

    ``classes``: the classes to consider (default all of :data:`CLASSES`); mentions of other
    classes are ignored.
    """
    allowed = set(check_classes(classes))
    counts: dict[str, int] = {}
    last: dict[str, int] = {}
    for position, (emotion, _, negated) in enumerate(emotion_mentions(caption)):
        if negated or emotion not in allowed:
            continue
        counts[emotion] = counts.get(emotion, 0) + 1
        last[emotion] = position
    if not counts:
        return None
    return max(counts, key=lambda e: (counts[e], last[e]))


def anchor_words(
    classes: Iterable[str] | None = None, language: str = "en"
) -> dict[str, tuple[str, ...]]:
    """The default anchor words per class, in ``language`` (``en`` or ``zh``)."""
    if language not in ("en", "zh"):
        raise ValueError(f"anchor words: language {language!r} is not 'en' or 'zh'")
    return {c: ANCHOR_WORDS[c][language] for c in check_classes(classes)}
