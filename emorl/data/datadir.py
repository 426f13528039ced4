"""The Kaldi data directory: the contract between recipe stages.

A data dir holds one text table per file, ``<key> <value>`` a line, sorted by key (C order), keys
unique. Utterance-level tables are keyed by utterance id; ``wav.scp`` by recording id when a
``segments`` file exists, by utterance id otherwise.

    wav.scp       <rec> <path or "command |">
    utt2spk       <utt> <speaker>              (spk2utt is derived and written beside it)
    segments      <utt> <rec> <start-s> <end-s>            optional
    text          <utt> <transcript>                      optional
    utt2emo       <utt> <emotion label>                   optional (absent for unlabeled sets)
    utt2caption   <utt> <free-text emotion caption>       optional
    utt2ovlabels  <utt> <word>,<word>,...                 optional (open-vocabulary emotions)
    utt2domain    <utt> <domain name>                     optional
    utt2dur       <utt> <duration in seconds>             optional

Every error names the file and line, or the utterance.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from emorl.atomic import atomic_dir, atomic_write

#: Video and container formats that soundfile does not read (their audio is extracted first).
CONTAINERS = (".mp4", ".m4a", ".avi", ".mkv", ".mov", ".webm", ".aac")
#: Optional utterance-level tables, in the order they are written.
UTT_TABLES = ("text", "utt2emo", "utt2caption", "utt2ovlabels", "utt2domain", "utt2dur")


class DataDirError(ValueError):
    """A data directory, or one of its files, breaks the contract."""


def read_table(path: str | os.PathLike, check_sorted: bool = True) -> dict[str, str]:
    """Read a ``<key> <value>`` table; errors name the file and line."""
    path = Path(path)
    table: dict[str, str] = {}
    previous = None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataDirError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise DataDirError(f"{path}: not UTF-8 text ({e})") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            raise DataDirError(f"{path}:{lineno}: empty line")
        parts = line.strip().split(maxsplit=1)
        if len(parts) < 2:
            raise DataDirError(f"{path}:{lineno}: expected '<key> <value>', got {line!r}")
        key, value = parts
        if key in table:
            raise DataDirError(f"{path}:{lineno}: duplicate key {key!r}")
        if check_sorted and previous is not None and key < previous:
            raise DataDirError(
                f"{path}:{lineno}: key {key!r} is not sorted (follows {previous!r}); "
                "run utils/fix_data_dir.sh"
            )
        table[key] = value
        previous = key
    return table


def write_table(path: str | os.PathLike, table: dict[str, str]) -> None:
    """Write a table sorted by key, atomically."""
    for key, value in table.items():
        if not key or any(c.isspace() for c in key):
            raise DataDirError(f"{path}: key {key!r} is empty or contains whitespace")
        if not str(value).strip() or "\n" in str(value):
            raise DataDirError(f"{path}: value for {key!r} is empty or spans lines: {value!r}")
    with atomic_write(path) as f:
        for key in sorted(table):
            f.write(f"{key} {table[key]}\n")


def spk2utt_of(utt2spk: dict[str, str]) -> dict[str, str]:
    """Invert ``utt2spk`` into ``spk2utt`` (utterances sorted within each speaker)."""
    spk2utts: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        spk2utts.setdefault(utt2spk[utt], []).append(utt)
    return {spk: " ".join(utts) for spk, utts in spk2utts.items()}


@dataclass
class DataDir:
    """The tables of one data directory, held in memory."""

    wav_scp: dict[str, str]
    utt2spk: dict[str, str]
    segments: dict[str, str] | None = None
    text: dict[str, str] | None = None
    utt2emo: dict[str, str] | None = None
    utt2caption: dict[str, str] | None = None
    utt2ovlabels: dict[str, str] | None = None
    utt2domain: dict[str, str] | None = None
    utt2dur: dict[str, str] | None = None
    path: Path | None = field(default=None, compare=False)

    @property
    def utts(self) -> list[str]:
        """Utterance ids, sorted."""
        return sorted(self.utt2spk)

    @property
    def spk2utt(self) -> dict[str, str]:
        return spk2utt_of(self.utt2spk)

    def tables(self) -> dict[str, dict[str, str]]:
        """The tables present, by file name."""
        out = {"wav.scp": self.wav_scp, "utt2spk": self.utt2spk}
        for name in ("segments",) + UTT_TABLES:
            table = getattr(self, name)
            if table is not None:
                out[name] = table
        return out

    def ovlabels(self, utt: str) -> list[str]:
        """The open-vocabulary emotion words of ``utt``."""
        if self.utt2ovlabels is None:
            raise DataDirError(f"{self.path or 'data dir'}: has no utt2ovlabels")
        return [w.strip() for w in self.utt2ovlabels[utt].split(",") if w.strip()]

    def subset(self, utts: Iterable[str]) -> DataDir:
        """The data dir restricted to ``utts`` (recordings unused by them are dropped)."""
        keep = set(utts)
        unknown = keep - set(self.utt2spk)
        if unknown:
            raise DataDirError(
                f"subset: {len(unknown)} unknown utterances, e.g. {sorted(unknown)[:3]}"
            )
        new = {}
        for f in fields(self):
            table = getattr(self, f.name)
            if f.name in ("path", "wav_scp") or table is None:
                continue
            new[f.name] = {k: v for k, v in table.items() if k in keep}
        recs = (
            {v.split()[0] for v in new["segments"].values()} if self.segments is not None else keep
        )
        new["wav_scp"] = {k: v for k, v in self.wav_scp.items() if k in recs}
        return DataDir(**new)

    @classmethod
    def load(cls, path: str | os.PathLike, validate_dir: bool = True, **validate_kwargs) -> DataDir:
        """Read a data directory (and validate it, unless told not to)."""
        path = Path(path)
        if not path.is_dir():
            raise DataDirError(f"{path}: data directory does not exist")
        kwargs = {"wav_scp": read_table(path / "wav.scp"), "utt2spk": read_table(path / "utt2spk")}
        for name in ("segments",) + UTT_TABLES:
            if (path / name).exists():
                kwargs[name] = read_table(path / name)
        data = cls(**kwargs, path=path)
        if validate_dir:
            validate(data, **validate_kwargs)
        return data

    def write(self, path: str | os.PathLike, **validate_kwargs) -> None:
        """Validate, then write all tables and ``spk2utt`` into ``path`` atomically.

        The directory is replaced as a whole: files of an earlier version do not survive.
        """
        validate(self, where=str(path), **validate_kwargs)
        with atomic_dir(path) as tmp:
            for name, table in self.tables().items():
                write_table(tmp / name, table)
            write_table(tmp / "spk2utt", self.spk2utt)
        self.path = Path(path)


def _check_coverage(where: str, name: str, table: dict[str, str], utts: set[str]) -> None:
    missing = sorted(utts - set(table))
    extra = sorted(set(table) - utts)
    if missing or extra:
        msg = f"{where}/{name}: does not cover the same utterances as utt2spk:"
        if missing:
            msg += f" {len(missing)} missing (e.g. {missing[:3]})"
        if extra:
            msg += f" {len(extra)} not in utt2spk (e.g. {extra[:3]})"
        raise DataDirError(msg + "; run utils/fix_data_dir.sh to keep the common utterances")


def _line_of(table: dict[str, str], key: str) -> int:
    return sorted(table).index(key) + 1


def validate(
    data: DataDir,
    label_set: Sequence[str] | None = None,
    check_audio: bool = False,
    where: str | None = None,
) -> None:
    """Check a data dir against the contract; raise :class:`DataDirError` naming what is wrong.

    ``label_set``: the allowed ``utt2emo`` labels. ``check_audio``: read every audio file's header
    (:func:`sample_rates`; without it only the files' existence is checked).
    """
    where = where or str(data.path or "data dir")
    if not data.utt2spk:
        raise DataDirError(f"{where}/utt2spk: empty data directory")
    utts = set(data.utt2spk)
    if data.segments is not None:
        for line, utt in enumerate(sorted(data.segments), 1):  # line numbers of the written file
            parts = data.segments[utt].split()
            if len(parts) != 3:
                raise DataDirError(f"{where}/segments:{line}: expected '<utt> <rec> <start> <end>'")
            rec = parts[0]
            try:
                start, end = float(parts[1]), float(parts[2])
            except ValueError:
                raise DataDirError(
                    f"{where}/segments:{line}: bad times {parts[1]} {parts[2]} for {utt}"
                ) from None
            if rec not in data.wav_scp:
                raise DataDirError(f"{where}/segments:{line}: recording {rec!r} not in wav.scp")
            if not 0 <= start < end:
                raise DataDirError(f"{where}/segments:{line}: bad times {start} {end} for {utt}")
        _check_coverage(where, "segments", data.segments, utts)
    else:
        _check_coverage(where, "wav.scp", data.wav_scp, utts)
    for name in UTT_TABLES:
        table = getattr(data, name)
        if table is not None:
            _check_coverage(where, name, table, utts)
    for spk in set(data.utt2spk.values()):
        if any(c.isspace() for c in spk):
            raise DataDirError(f"{where}/utt2spk: speaker id {spk!r} contains whitespace")
    if label_set is not None and data.utt2emo is not None:
        allowed = set(label_set)
        for utt, label in data.utt2emo.items():
            if label not in allowed:
                raise DataDirError(
                    f"{where}/utt2emo:{_line_of(data.utt2emo, utt)}: utterance {utt} has label "
                    f"{label!r}, not in the label set {sorted(allowed)}"
                )
    if data.utt2dur is not None:
        for utt, dur in data.utt2dur.items():
            try:
                ok = float(dur) > 0
            except ValueError:
                ok = False
            if not ok:
                raise DataDirError(
                    f"{where}/utt2dur:{_line_of(data.utt2dur, utt)}: bad duration {dur!r}"
                )
    for line, rec in enumerate(sorted(data.wav_scp), 1):
        spec = data.wav_scp[rec]
        if spec.rstrip().endswith("|"):
            continue  # a command; checked when it runs
        if not Path(spec).is_file():
            raise DataDirError(f"{where}/wav.scp:{line}: {rec}: audio file {spec} does not exist")
    if check_audio:
        sample_rates(data, where)


def sample_rates(data: DataDir, where: str | None = None) -> Counter[int]:
    """Read the header of every audio file of ``wav.scp`` (soundfile: no samples decoded); return
    how many recordings there are at each sample rate. Commands are skipped.

    Stops naming the recording and the file when a file is not audio that soundfile reads (stage
    2 reads it with soundfile too) or holds no samples.
    """
    import soundfile

    where = where or str(data.path or "data dir")
    rates: Counter[int] = Counter()
    for line, rec in enumerate(sorted(data.wav_scp), 1):
        spec = data.wav_scp[rec]
        if spec.rstrip().endswith("|"):
            continue
        try:
            with soundfile.SoundFile(spec) as f:  # the header only (faster than soundfile.info)
                frames, rate = f.frames, f.samplerate
        except Exception as e:  # soundfile raises its own LibsndfileError and RuntimeError
            hint = ""
            if Path(spec).suffix.lower() in CONTAINERS:
                hint = "; extract its audio to wav first, or give a command ending in '|'"
            raise DataDirError(
                f"{where}/wav.scp:{line}: {rec}: {spec} is not readable audio ({e}){hint}"
            ) from None
        if frames == 0:
            raise DataDirError(f"{where}/wav.scp:{line}: {rec}: {spec} holds no audio samples")
        rates[rate] += 1
    return rates
