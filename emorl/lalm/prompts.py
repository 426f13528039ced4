"""Prompts, training targets and completion parsing for the audio-LM tasks.

Tasks: ``emo`` (one emotion class from a label set), ``cap`` (a free-text emotion caption), ``ov``
(a comma-separated list of emotion words). Output formats::

    answer   <answer>A</answer>
    think    <think>T</think><answer>A</answer>
    esr      <think><content>C</content><acoustics>K</acoustics><summary>S</summary></think>
             <answer>A</answer>

Parsing rules (:func:`parse_completion` never raises on a completion, whatever its text):

- Tags are read case-insensitively and with spaces inside the brackets (``< Answer >``); only a
  *closed* block counts (``<answer>happy`` with no ``</answer>`` gives no answer).
- ``answer``: the text of the last closed ``<answer>`` block that is not inside a ``<think>`` block
  (a model revising its answer is read by its final one), stripped; ``None`` when there is none or
  it is empty.
- ``think``: the text of the last closed ``<think>`` block, stripped (``None`` when there is none).
- ``sections``: the ESR sections (``content``, ``acoustics``, ``summary``) found as closed blocks
  inside the last think block (anywhere when there is no think block), the last of each, stripped.
- ``format_valid``: the completion is exactly the requested structure: the canonical lower-case
  tags without spaces, each once, in order, with only whitespace between and around them; a
  non-empty answer; for ``think`` a non-empty think; for ``esr`` non-empty acoustics and summary
  (``content`` may be empty: an utterance without words has none). Extra text, repeated or
  misspelt tags, a missing section or a truncated completion make it invalid; the answer is still
  read when present, so that accuracy and format are separate rewards.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

TASKS = ("emo", "cap", "ov")
FORMATS = ("answer", "think", "esr")
ESR_SECTIONS = ("content", "acoustics", "summary")
TAGS = ("think", "answer") + ESR_SECTIONS
#: Any of our tags, opening or closing, in any case, with spaces inside the brackets.
_TAG = re.compile(r"<\s*(/?)\s*(" + "|".join(TAGS) + r")\s*>", re.IGNORECASE)

_TASK_TEXT = {
    "emo": "What emotion does the speaker express? Choose exactly one of: {labels}.",
    "cap": (
        "Describe the speaker's emotion in one or two sentences: what they feel and how their "
        "voice conveys it."
    ),
    "ov": "Which emotions does the speaker express? List the emotion words, separated by commas.",
}
_FORMAT_TEXT = {
    "answer": "Reply with the answer only, as <answer>...</answer>.",
    "think": (
        "First reason about the speech inside <think>...</think>, then give the answer inside "
        "<answer>...</answer>."
    ),
    "esr": (
        "First reason inside <think>...</think> in three parts: <content>what is said and its "
        "emotional words</content><acoustics>pitch, speaking rate, loudness and voice "
        "quality</acoustics><summary>your conclusion</summary>; then give the answer inside "
        "<answer>...</answer>."
    ),
}


def check_task_format(task: str | None = None, fmt: str | None = None) -> None:
    """Stop on an unknown task or output format."""
    if task is not None and task not in TASKS:
        raise ValueError(f"unknown task {task!r}: expected one of {TASKS}")
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}: expected one of {FORMATS}")


def instruction(task: str, fmt: str, label_set: Sequence[str] | None = None) -> str:
    """The instruction text of ``task`` in output format ``fmt`` (emo lists ``label_set``)."""
    check_task_format(task, fmt)
    if task == "emo":
        if not label_set:
            raise ValueError("task emo needs the label set to list in its instruction")
        head = _TASK_TEXT["emo"].format(labels=", ".join(label_set))
    else:
        head = _TASK_TEXT[task]
    return f"{head} {_FORMAT_TEXT[fmt]}"


def _check_free_of_tags(what: str, text: str) -> None:
    if _TAG.search(text):
        raise ValueError(f"{what} {text!r} contains a format tag; it would break parsing")
    if "\n" in text:
        raise ValueError(f"{what} {text!r} spans several lines")


def render_target(
    fmt: str,
    answer: str | Sequence[str],
    sections: Mapping[str, str] | None = None,
    think: str | None = None,
) -> str:
    """A training target in format ``fmt``, on one line.

    ``answer``: the label, the caption, or a list of emotion words (joined with ``", "``).
    ``sections``: the ESR ``content``, ``acoustics`` and ``summary`` (``esr`` needs all three;
    content may be empty). ``think``: the free reasoning of ``think``; by default the non-empty
    sections joined as prose.
    """
    check_task_format(fmt=fmt)
    if not isinstance(answer, str):
        answer = ", ".join(w.strip() for w in answer if w.strip())
    answer = answer.strip()
    if not answer:
        raise ValueError("render_target: empty answer")
    _check_free_of_tags("answer", answer)
    sections = {k: (v or "").strip() for k, v in (sections or {}).items()}
    unknown = set(sections) - set(ESR_SECTIONS)
    if unknown:
        raise ValueError(f"render_target: unknown sections {sorted(unknown)}")
    for name, value in sections.items():
        _check_free_of_tags(f"section {name}", value)
    tail = f"<answer>{answer}</answer>"
    if fmt == "answer":
        return tail
    if fmt == "think":
        if think is None:
            think = " ".join(sections[k] for k in ESR_SECTIONS if sections.get(k))
        think = think.strip()
        if not think:
            raise ValueError("render_target: format think needs a non-empty think or sections")
        _check_free_of_tags("think", think)
        return f"<think>{think}</think>{tail}"
    missing = [k for k in ESR_SECTIONS if k not in sections]
    empty = [k for k in ("acoustics", "summary") if not sections.get(k)]
    if missing or empty:
        raise ValueError(
            f"render_target: format esr needs sections {ESR_SECTIONS} "
            f"(missing {missing}, empty {empty})"
        )
    body = "".join(f"<{k}>{sections[k]}</{k}>" for k in ESR_SECTIONS)
    return f"<think>{body}</think>{tail}"


@dataclass(frozen=True)
class ParsedCompletion:
    """What :func:`parse_completion` read from a completion (see the module docstring)."""

    answer: str | None
    think: str | None
    sections: dict[str, str] = field(default_factory=dict)
    format_valid: bool = False


def _blocks(text: str, name: str) -> list[tuple[int, int, str]]:
    """Closed ``<name>…</name>`` blocks as ``(start, end, inner text)``, non-overlapping, in order.

    An opening tag pairs with the next closing tag of the same name; an opening tag repeated
    before it is closed restarts the block.
    """
    blocks, start, inner_start = [], None, None
    for m in _TAG.finditer(text):
        if m.group(2).lower() != name:
            continue
        if not m.group(1):
            start, inner_start = m.start(), m.end()
        elif start is not None:
            blocks.append((start, m.end(), text[inner_start : m.start()]))
            start = None
    return blocks


def _strip_or_none(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text or None


#: The inner text of a block: anything but one of our tags (in any spelling).
_INNER = r"(?:(?!(?i:<\s*/?\s*(?:" + "|".join(TAGS) + r")\s*>)).)*"
_VALID = {
    fmt: re.compile(pattern.replace("INNER", _INNER), re.DOTALL)
    for fmt, pattern in {
        "answer": r"\s*<answer>(?P<answer>INNER)</answer>\s*",
        "think": r"\s*<think>(?P<think>INNER)</think>\s*<answer>(?P<answer>INNER)</answer>\s*",
        "esr": (
            r"\s*<think>\s*<content>(?P<content>INNER)</content>\s*"
            r"<acoustics>(?P<acoustics>INNER)</acoustics>\s*<summary>(?P<summary>INNER)</summary>"
            r"\s*</think>\s*<answer>(?P<answer>INNER)</answer>\s*"
        ),
    }.items()
}


def _format_valid(text: str, fmt: str) -> bool:
    m = _VALID[fmt].fullmatch(text)
    if m is None:
        return False
    groups = {k: v.strip() for k, v in m.groupdict().items()}
    required = {"answer": ("answer",), "think": ("think", "answer")}.get(
        fmt, ("acoustics", "summary", "answer")
    )
    return all(groups[k] for k in required)


def parse_completion(text: str | None, fmt: str) -> ParsedCompletion:
    """Read a completion in output format ``fmt``; never raises on the completion's text."""
    check_task_format(fmt=fmt)
    if not isinstance(text, str) or not text.strip():
        return ParsedCompletion(answer=None, think=None, sections={}, format_valid=False)
    thinks = _blocks(text, "think")
    inside_think = [(s, e) for s, e, _ in thinks]
    answers = [
        inner
        for s, e, inner in _blocks(text, "answer")
        if not any(ts <= s and e <= te for ts, te in inside_think)
    ]
    answer = _strip_or_none(answers[-1]) if answers else None
    think = thinks[-1][2] if thinks else None
    region = think if think is not None else text
    sections = {}
    for name in ESR_SECTIONS:
        found = _blocks(region, name)
        if found:
            sections[name] = found[-1][2].strip()
    return ParsedCompletion(
        answer=answer,
        think=_strip_or_none(think),
        sections=sections,
        format_valid=_format_valid(text, fmt),
    )


#: Synonyms of the label names of ``emorl.data.labels`` (lower-case). A label set's own names
#: always match themselves; a synonym maps only onto a label of the set being read.
LABEL_SYNONYMS: dict[str, tuple[str, ...]] = {
    "angry": ("anger", "mad", "furious", "rage", "irritated", "annoyed", "hostile"),
    "calm": ("calmness", "relaxed", "peaceful", "serene", "tranquil"),
    "contempt": ("contemptuous", "scorn", "scornful", "disdain"),
    "disgust": ("disgusted", "disgusting", "revulsion", "repulsed"),
    "excited": ("excitement", "exciting", "enthusiastic", "thrilled"),
    "fear": ("fearful", "afraid", "scared", "frightened", "terrified", "fright", "panic"),
    "frustrated": ("frustration", "frustrating", "exasperated"),
    "happy": ("happiness", "joy", "joyful", "glad", "cheerful", "delighted", "pleased"),
    "neutral": ("neutrality", "no emotion", "emotionless"),
    "sad": ("sadness", "unhappy", "sorrow", "sorrowful", "depressed", "gloomy"),
    "surprise": ("surprised", "surprising", "astonished", "amazed", "shocked", "astonishment"),
    "worried": ("worry", "anxious", "anxiety", "nervous", "concerned", "worrying"),
}

_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")


def normalise(text: str) -> str:
    """Lower case, punctuation replaced by spaces, whitespace collapsed."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def answer_label(answer: str | None, label_set: Sequence[str]) -> str | None:
    """The class of ``label_set`` an answer names, or ``None``.

    Case, whitespace and punctuation are ignored. The whole answer is matched first against the
    labels and their synonyms (:data:`LABEL_SYNONYMS`: ``"Happiness."`` -> ``happy``); otherwise an
    answer whose words name exactly one class (``"the speaker is angry"``) gives that class; an
    answer naming several classes, or none, gives ``None``. Negation is not understood: ``"not
    happy"`` reads as ``happy``.
    """
    if not isinstance(answer, str):
        return None
    text = normalise(answer)
    if not text:
        return None
    names = {}
    for label in label_set:
        names[normalise(label)] = label
    for label in label_set:
        for synonym in LABEL_SYNONYMS.get(normalise(label), ()):
            names.setdefault(synonym, label)
    if text in names:
        return names[text]
    words = text.split()
    found = set()
    for name, label in names.items():
        size = len(name.split())
        if any(" ".join(words[i : i + size]) == name for i in range(len(words) - size + 1)):
            found.add(label)
    return found.pop() if len(found) == 1 else None


_WORD_SEPARATORS = re.compile(r"[,;/\n|]|\band\b|\bor\b", re.IGNORECASE)


def answer_words(answer: str | None) -> list[str]:
    """Split an open-vocabulary answer into emotion words or phrases: lower-cased, split at
    commas, semicolons, slashes, newlines, "and" and "or", punctuation stripped, duplicates
    dropped (first occurrence kept)."""
    if not isinstance(answer, str):
        return []
    words = []
    for part in _WORD_SEPARATORS.split(answer):
        word = normalise(part)
        if word and word not in words:
            words.append(word)
    return words
