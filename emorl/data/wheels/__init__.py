"""Emotion wheels, a synonym table and a word-form table: the data of the emotion-wheel metric.

The ``*.txt`` files of this package are plain versioned tables written for emorl, each opening with
a header of ``# key: value`` lines (``name``, ``kind``, ``version`` and ``source`` are required)::

    # name: plutchik              kind wheel: "word level1 level2" per line, where a level is a
    # kind: wheel                 cluster name or several joined by "+" (a Plutchik dyad such as
    # version: 1                  love belongs to joy+trust at level 1)
    # source: R. Plutchik, ...
    love   joy+trust   love

    # kind: synonyms              "word canonical_word" (the canonical word is on the wheels)
    # kind: forms                 "form base" (the base is a wheel word or a synonym)

Words are lower-case ``[a-z]`` with inner ``-`` or ``'``; cluster names ``[a-z_]``; ``#`` starts a
comment line. The parser is strict: a malformed line, a duplicate word, a missing header field or
an unknown kind stops with the file and line. :func:`check_lexicon` checks the tables against each
other: every synonym points to a word on some wheel, no wheel word is also a synonym or a form, and
every form ends on a known word (a wheel word or a synonym).

A word is looked up as the metric describes it: lower-cased, reduced to its base form (forms),
mapped to its canonical wheel word (synonyms), then to its clusters on a wheel at level 1 (inner,
basic emotions) or level 2 (middle ring).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

#: Where the shipped tables live.
WHEELS_DIR = Path(__file__).parent
#: The shipped wheels, in table order.
WHEELS = ("plutchik", "parrott", "gew", "ekman")
KINDS = ("wheel", "synonyms", "forms")
LEVELS = (1, 2)
HEADER_FIELDS = ("name", "kind", "version", "source")

_WORD = re.compile(r"[a-z]+(?:[-'][a-z]+)*")
_CLUSTERS = re.compile(r"[a-z_]+(?:\+[a-z_]+)*")
_FIELD = re.compile(r"#\s*([a-z_]+):\s*(.*)")


class WheelError(ValueError):
    """A wheel, synonym or word-form table is malformed or inconsistent."""


@dataclass(frozen=True)
class Table:
    """One parsed file: its header fields and its entries ``word -> fields`` (with line numbers)."""

    path: Path
    header: dict[str, str]
    entries: dict[str, tuple[str, ...]]
    lines: dict[str, int]

    @property
    def name(self) -> str:
        return self.header["name"]

    @property
    def kind(self) -> str:
        return self.header["kind"]


@dataclass(frozen=True)
class Wheel:
    """A wheel: ``word -> (level-1 clusters, level-2 clusters)``, with its source and version."""

    name: str
    version: str
    source: str
    clusters: dict[str, tuple[frozenset[str], frozenset[str]]]

    def lookup(self, word: str, level: int) -> frozenset[str]:
        """The clusters of a canonical wheel word at ``level`` (empty: not on the wheel)."""
        if level not in LEVELS:
            raise WheelError(f"wheel level must be one of {LEVELS}, got {level!r}")
        entry = self.clusters.get(word)
        return entry[level - 1] if entry is not None else frozenset()


def read_table(path: str | os.PathLike) -> Table:
    """Parse one table file strictly; every error names the file and line."""
    path = Path(path)
    header: dict[str, str] = {}
    entries: dict[str, tuple[str, ...]] = {}
    lines: dict[str, int] = {}
    in_header = True
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if line.startswith("#"):
                match = _FIELD.fullmatch(line)
                if in_header and match and not raw.startswith("#  "):
                    key, value = match.groups()
                    if key in header:
                        raise WheelError(f"{path}:{lineno}: header field {key!r} given twice")
                    header[key] = value.strip()
                continue
            if not line:
                continue
            if in_header:
                in_header = False
                _check_header(path, header, lineno)
            fields = _parse_line(path, lineno, line, header["kind"])
            word = fields[0]
            if word in entries:
                raise WheelError(
                    f"{path}:{lineno}: {word!r} is already on line {lines[word]} (one entry a word)"
                )
            entries[word] = fields[1:]
            lines[word] = lineno
    if in_header:
        _check_header(path, header, None)
    if not entries:
        raise WheelError(f"{path}: no entries")
    return Table(path, header, entries, lines)


def _check_header(path: Path, header: dict[str, str], lineno: int | None) -> None:
    where = f"{path}:{lineno}" if lineno is not None else str(path)
    missing = [key for key in HEADER_FIELDS if not header.get(key)]
    if missing:
        raise WheelError(
            f"{where}: the header (leading '# key: value' lines) lacks {missing}; "
            f"it needs {list(HEADER_FIELDS)}"
        )
    if header["kind"] not in KINDS:
        raise WheelError(f"{where}: unknown kind {header['kind']!r}; known: {list(KINDS)}")


def _parse_line(path: Path, lineno: int, line: str, kind: str) -> tuple[str, ...]:
    fields = tuple(line.split())
    expected = 3 if kind == "wheel" else 2
    columns = "word level1 level2" if kind == "wheel" else f"word {kind[:-1]}_target"
    if len(fields) != expected:
        raise WheelError(
            f"{path}:{lineno}: expected {expected} fields ({columns}), got {len(fields)}: {line!r}"
        )
    words = fields if kind != "wheel" else fields[:1]
    for word in words:
        if not _WORD.fullmatch(word):
            raise WheelError(f"{path}:{lineno}: {word!r} is not a lower-case word")
    if kind == "wheel":
        for cluster in fields[1:]:
            if not _CLUSTERS.fullmatch(cluster):
                raise WheelError(
                    f"{path}:{lineno}: {cluster!r} is not a cluster name ([a-z_], '+' between two)"
                )
    elif fields[0] == fields[1]:
        raise WheelError(f"{path}:{lineno}: {fields[0]!r} points to itself")
    return fields


@dataclass(frozen=True)
class Lexicon:
    """The wheels with the synonym and word-form tables that lead a word to them."""

    wheels: dict[str, Wheel]
    synonyms: dict[str, str]
    forms: dict[str, str]

    def canonical(self, word: str) -> str:
        """Lower-case, base form, canonical wheel word (the word itself when no table has it)."""
        word = word.lower()
        word = self.forms.get(word, word)
        return self.synonyms.get(word, word)

    def clusters(self, word: str, wheel: str, level: int) -> frozenset[str]:
        """The clusters of any word on ``wheel`` at ``level`` (empty: the word is unmapped)."""
        return self.wheel(wheel).lookup(self.canonical(word), level)

    def wheel(self, name: str) -> Wheel:
        try:
            return self.wheels[name]
        except KeyError:
            raise WheelError(f"unknown wheel {name!r}; loaded: {sorted(self.wheels)}") from None

    @property
    def vocabulary(self) -> set[str]:
        """Every word the tables know: wheel words, synonyms and forms."""
        words = set(self.synonyms) | set(self.forms)
        for wheel in self.wheels.values():
            words |= set(wheel.clusters)
        return words


def load_lexicon(directory: str | os.PathLike | None = None) -> Lexicon:
    """Read every ``*.txt`` table of ``directory`` (default: the shipped tables) and check them.

    A directory holds any number of wheels and exactly one synonym and one word-form table.
    """
    directory = Path(directory) if directory is not None else WHEELS_DIR
    tables = [read_table(path) for path in sorted(directory.glob("*.txt"))]
    by_kind: dict[str, list[Table]] = {kind: [] for kind in KINDS}
    for table in tables:
        by_kind[table.kind].append(table)
    for kind in ("synonyms", "forms"):
        if len(by_kind[kind]) != 1:
            found = [str(t.path) for t in by_kind[kind]]
            raise WheelError(f"{directory}: expected one table of kind {kind}, found {found}")
    if not by_kind["wheel"]:
        raise WheelError(f"{directory}: no wheel (a table with '# kind: wheel')")
    wheels = {}
    for table in by_kind["wheel"]:
        if table.name in wheels:
            raise WheelError(f"{table.path}: wheel {table.name!r} is also in another file")
        clusters = {
            word: (frozenset(l1.split("+")), frozenset(l2.split("+")))
            for word, (l1, l2) in table.entries.items()
        }
        wheels[table.name] = Wheel(
            table.name, table.header["version"], table.header["source"], clusters
        )
    (synonyms,) = by_kind["synonyms"]
    (forms,) = by_kind["forms"]
    check_lexicon(by_kind["wheel"], synonyms, forms)
    return Lexicon(
        wheels,
        {word: target for word, (target,) in synonyms.entries.items()},
        {word: base for word, (base,) in forms.entries.items()},
    )


def check_lexicon(wheels: list[Table], synonyms: Table, forms: Table) -> None:
    """Stop (naming file and line) unless the tables agree with each other.

    Every synonym target is a word on some wheel; no wheel word is a synonym or a form (a wheel word
    is canonical); no synonym is also a form; every form's base is a wheel word or a synonym.
    """
    on_wheels = {word: t.path for t in wheels for word in t.entries}
    problems = []
    for word, (target,) in synonyms.entries.items():
        where = f"{synonyms.path}:{synonyms.lines[word]}"
        if target not in on_wheels:
            problems.append(f"{where}: synonym {word!r} points to {target!r}, on no wheel")
        if word in on_wheels:
            problems.append(f"{where}: {word!r} is a wheel word ({on_wheels[word]}), not a synonym")
    for word, (base,) in forms.entries.items():
        where = f"{forms.path}:{forms.lines[word]}"
        if base not in on_wheels and base not in synonyms.entries:
            problems.append(
                f"{where}: form {word!r} has base {base!r}, neither wheel word nor synonym"
            )
        if word in on_wheels:
            problems.append(f"{where}: {word!r} is a wheel word ({on_wheels[word]}), not a form")
        if word in synonyms.entries:
            problems.append(
                f"{where}: {word!r} is also a synonym ({synonyms.path}:{synonyms.lines[word]})"
            )
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise WheelError(f"inconsistent wheel tables:\n  {shown}{more}")
