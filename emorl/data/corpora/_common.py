"""What the real-corpus preparers share.

- ``Utt``: one utterance as a preparer reads it (speaker, audio file, label, transcript, ...).
- ``is_completed`` / ``mark_completed`` / ``write_sets``: the ``.completed`` guard keyed on the
  options, and writing every data dir only after all of them validated (nothing is written when
  anything is wrong).
- ``check_media``: every audio file exists and decodes; bad files are reported one per line with a
  summary count, skipped only when listed as known-broken or when the user asks
  (``--skip_bad_media true``).
- ``folds`` / ``speaker_blocks`` / ``speaker_fold_sets`` / ``holdout``: the split helpers behind
  the corpus protocols.
- ``extract_audio`` / ``extract_all``: 16 kHz mono wav from video files (mp4, avi) with PyAV.
"""

from __future__ import annotations

import collections
import csv
import json
import logging
import os
import random
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from tqdm import tqdm

from emorl import cli
from emorl.atomic import atomic_write
from emorl.data.datadir import DataDir, DataDirError, validate

logger = logging.getLogger(__name__)

COMPLETED = ".completed"


class CorpusError(ValueError):
    """The corpus on disk is missing, incomplete, unreadable or not the corpus expected."""


@dataclass
class Utt:
    """One utterance of a corpus: its speaker, audio file and annotations."""

    spk: str
    wav: Path
    emo: str | None = None
    text: str | None = None
    caption: str | None = None
    ovlabels: str | None = None


def add_fold_arguments(parser, num_folds: int | None) -> None:
    """Options of corpora split into speaker folds: the fold count and the dev selection."""
    if num_folds is not None:
        parser.add_argument(
            "--num_folds", type=int, default=num_folds, help="speaker-independent folds"
        )
    parser.add_argument(
        "--dev_ratio", type=float, default=0.1, help="dev share of each fold's train"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the dev selection")


def add_media_arguments(parser) -> None:
    """The option every preparer has: what to do with missing or unreadable audio."""
    parser.add_argument(
        "--skip_bad_media",
        type=cli.str2bool,
        default=False,
        help="leave out missing or unreadable audio files (each is reported) instead of stopping",
    )


def require_dir(path: Path, corpus: str, expected: str) -> Path:
    """``path`` must be a directory; the error says what the corpus directory should contain."""
    if not path.is_dir():
        raise CorpusError(f"{path}: no such directory; expected the {corpus} corpus: {expected}")
    return path


def require_file(path: Path, corpus: str, what: str) -> Path:
    """``path`` must be a file of the corpus; the error names it and what it holds."""
    if not path.is_file():
        raise CorpusError(f"{path}: missing; the {corpus} corpus should have it ({what})")
    return path


def clean_id(name: str) -> str:
    """A Kaldi-safe id part: runs of characters other than letters, digits, ``_`` become ``_``.

    The result never holds ``-``, which the preparers use between speaker and utterance ids, so
    that sorted utterance ids keep each speaker's utterances together.
    """
    cleaned = re.sub(r"[^\w]+", "_", name).strip("_")
    if not cleaned:
        raise CorpusError(f"cannot make an id from {name!r}")
    return cleaned


def clean_text(text: str | None) -> str | None:
    """A transcript or caption on one line (whitespace collapsed); ``None`` when empty."""
    if text is None:
        return None
    text = " ".join(str(text).split())
    return text or None


def read_text(path: Path, encodings: Sequence[str] = ("utf-8",)) -> str:
    """Read a text file trying ``encodings`` in order (a UTF-16 byte-order mark wins)."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CorpusError(f"{path}: cannot decode the text as any of {list(encodings)}")


def read_csv(path: Path, columns: Sequence[str], what: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with a header, each with its line number; ``columns`` must exist."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise CorpusError(
                    f"{path}: not {what}, it lacks the columns {missing} (has {reader.fieldnames})"
                )
            return [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError as e:
        raise CorpusError(f"{path}: not UTF-8 text ({e})") from None
    except FileNotFoundError:
        raise CorpusError(f"{path}: missing ({what})") from None


def check_total(what: str, got: int, expected: int) -> None:
    """Warn when a count differs from the official distribution's."""
    if got != expected:
        logger.warning(
            "%s: %d utterances, but the official distribution has %d; check that your copy is "
            "complete (a fixture or a subset gives fewer)",
            what,
            got,
            expected,
        )


def _audio_problem(path: Path) -> str | None:
    if not path.is_file():
        return "file does not exist"
    try:
        info = soundfile.info(str(path))
    except Exception as e:  # soundfile raises LibsndfileError (a RuntimeError) or OSError
        return f"not readable audio ({e})"
    if info.frames == 0:
        return "no audio samples"
    return None


def check_media(
    utts: dict[str, Utt],
    known_bad: Iterable[str] = (),
    skip_bad: bool = False,
    problems: dict[str, str] | None = None,
) -> dict[str, Utt]:
    """Check that every utterance's audio exists and decodes; return the utterances to keep.

    ``problems``: utterances already known to be bad (e.g. a video that failed to decode), with why.
    A bad file whose utterance is in ``known_bad`` (the corpus's documented broken files, a table in
    each corpus module) is skipped with a warning; any other bad file is logged one per line and,
    unless ``skip_bad``, stops the preparation with the count.
    """
    problems = dict(problems or {})
    for utt, u in tqdm(sorted(utts.items()), desc="checking audio", leave=False, mininterval=5):
        if utt not in problems:
            problem = _audio_problem(u.wav)
            if problem is not None:
                problems[utt] = f"{u.wav}: {problem}"
    known = set(known_bad)
    for utt in sorted(set(problems) & known):
        logger.warning(
            "skipping %s, known to be broken in the distribution: %s", utt, problems[utt]
        )
    unexpected = {utt: why for utt, why in problems.items() if utt not in known}
    for utt, why in sorted(unexpected.items()):
        logger.error("bad audio for utterance %s: %s", utt, why)
    if unexpected:
        summary = f"{len(unexpected)} of {len(utts)} audio files are missing or unreadable"
        if not skip_bad:
            first = sorted(unexpected.items())[0]
            raise CorpusError(
                f"{summary} (each is listed above; the first: {first[0]}: {first[1]}); "
                "fix them, or rerun with --skip_bad_media true to leave them out"
            )
        logger.warning("%s; leaving them out (--skip_bad_media true)", summary)
    return {utt: u for utt, u in utts.items() if utt not in problems}


def _table(utts: dict[str, Utt], field: str, required: bool) -> dict[str, str] | None:
    values = {utt: getattr(u, field) for utt, u in utts.items()}
    have = {utt: v for utt, v in values.items() if v is not None}
    if not have:
        return None
    if len(have) < len(values):
        missing = sorted(set(values) - set(have))
        if required:
            raise CorpusError(f"{len(missing)} utterances have no {field}, e.g. {missing[:3]}")
        logger.warning(
            "%d of %d utterances have no %s (e.g. %s); the %s table is left out",
            len(missing),
            len(values),
            field,
            missing[:3],
            field,
        )
        return None
    return {utt: str(v) for utt, v in have.items()}


def build_data_dir(utts: dict[str, Utt]) -> DataDir:
    """The data dir of ``utts``. A label, caption or open-vocabulary table is all or nothing (a
    partial one is an error); a partial transcript table is left out with a warning."""
    return DataDir(
        wav_scp={utt: str(u.wav) for utt, u in utts.items()},
        utt2spk={utt: u.spk for utt, u in utts.items()},
        text=_table(utts, "text", required=False),
        utt2emo=_table(utts, "emo", required=True),
        utt2caption=_table(utts, "caption", required=True),
        utt2ovlabels=_table(utts, "ovlabels", required=True),
    )


def _check_speaker_grouping(name: str, utt2spk: dict[str, str]) -> None:
    seen, previous = set(), None
    for utt in sorted(utt2spk):
        spk = utt2spk[utt]
        if spk != previous and spk in seen:
            raise CorpusError(
                f"{name}: utterance {utt} of speaker {spk} does not sort next to the speaker's "
                "other utterances; utterance ids must start with the speaker id"
            )
        seen.add(spk)
        previous = spk


def _guard_key(corpus: str, corpus_dir: Path, options: dict) -> dict:
    return {"corpus": corpus, "corpus_dir": str(Path(corpus_dir).resolve()), "options": options}


def is_completed(output_dir: Path, corpus: str, corpus_dir: Path, options: dict) -> bool:
    """True when ``output_dir`` holds this corpus prepared with these options (a free rerun)."""
    marker = Path(output_dir) / COMPLETED
    try:
        done = json.loads(marker.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    if {k: v for k, v in done.items() if k != "sets"} != _guard_key(corpus, corpus_dir, options):
        return False
    if not all((Path(output_dir) / name / "utt2spk").is_file() for name in done.get("sets", [])):
        return False
    logger.info("%s: %s is already prepared with these options (%s)", output_dir, corpus, marker)
    return True


def write_sets(
    output_dir: Path,
    corpus: str,
    corpus_dir: Path,
    options: dict,
    sets: dict[str, dict[str, Utt]],
    label_set: Sequence[str] | None,
) -> dict[str, DataDir]:
    """Validate every set, then write each as ``output_dir/<set>`` and the ``.completed`` marker.

    Nothing is written unless every set is valid.
    """
    output_dir = Path(output_dir)
    datas = {}
    for name, utts in sets.items():
        if not utts:
            raise CorpusError(
                f"{corpus}: set {name} is empty; check the corpus directory and options"
            )
        data = build_data_dir(utts)
        try:
            validate(data, label_set=label_set, where=str(output_dir / name))
        except DataDirError as e:
            raise CorpusError(str(e)) from None
        _check_speaker_grouping(str(output_dir / name), data.utt2spk)
        datas[name] = data
    (output_dir / COMPLETED).unlink(missing_ok=True)
    for name, data in datas.items():
        data.write(output_dir / name, label_set=label_set)
        labels = collections.Counter((data.utt2emo or {}).values())
        logger.info(
            "%s/%s: %d utterances, %d speakers%s",
            output_dir,
            name,
            len(data.utt2spk),
            len(set(data.utt2spk.values())),
            f", labels {dict(sorted(labels.items()))}" if labels else "",
        )
    mark_completed(output_dir, corpus, corpus_dir, options, datas)
    return datas


def mark_completed(
    output_dir: Path, corpus: str, corpus_dir: Path, options: dict, sets: Iterable[str]
) -> None:
    """Write the ``.completed`` marker that :func:`is_completed` checks."""
    with atomic_write(Path(output_dir) / COMPLETED) as f:
        json.dump({**_guard_key(corpus, corpus_dir, options), "sets": sorted(sets)}, f, indent=1)


def speaker_blocks(speakers: Iterable[str], num_folds: int) -> list[list[str]]:
    """Sorted speakers cut into ``num_folds`` contiguous blocks of near-equal size."""
    speakers = sorted(set(speakers))
    if not 1 < num_folds <= len(speakers):
        raise CorpusError(f"cannot make {num_folds} folds from {len(speakers)} speakers")
    return [list(block) for block in np.array_split(np.array(speakers, dtype=object), num_folds)]


def holdout(utts: Iterable[str], ratio: float, seed: int) -> set[str]:
    """A seeded random ``ratio`` of ``utts`` (at least one when ``ratio > 0`` and two or more)."""
    utts = sorted(utts)
    if ratio <= 0 or len(utts) < 2:
        return set()
    count = min(len(utts) - 1, max(1, round(ratio * len(utts))))
    return set(random.Random(seed).sample(utts, count))


def folds(
    utt2group: dict[str, str], test_groups: Sequence[Sequence[str]], dev_ratio: float, seed: int
) -> dict[str, list[str]]:
    """Group-independent folds: ``fold<k>_test`` holds the utterances of ``test_groups[k-1]``;
    the others are split into ``fold<k>_dev`` (a seeded random ``dev_ratio``) and
    ``fold<k>_train``."""
    sets = {}
    for k, groups in enumerate(test_groups, 1):
        groups = set(groups)
        test = sorted(u for u, g in utt2group.items() if g in groups)
        rest = [u for u, g in utt2group.items() if g not in groups]
        dev = holdout(rest, dev_ratio, seed + k)
        sets[f"fold{k}_train"] = sorted(set(rest) - dev)
        sets[f"fold{k}_dev"] = sorted(dev)
        sets[f"fold{k}_test"] = test
    return sets


def subset(utts: dict[str, Utt], keys: Iterable[str]) -> dict[str, Utt]:
    """The utterances of ``keys``."""
    return {k: utts[k] for k in keys}


def speaker_fold_sets(
    utts: dict[str, Utt], num_folds: int, dev_ratio: float, seed: int
) -> dict[str, dict[str, Utt]]:
    """``fold<k>_{train,dev,test}`` of ``utts``, each fold testing one block of speakers."""
    blocks = speaker_blocks((u.spk for u in utts.values()), num_folds)
    fold_sets = folds({utt: u.spk for utt, u in utts.items()}, blocks, dev_ratio, seed)
    return {name: subset(utts, keys) for name, keys in fold_sets.items()}


def extract_audio(src: Path, dst: Path, sample_rate: int = 16000) -> None:
    """Decode the first audio stream of a media file (mp4, avi, ...) into a 16-bit mono wav."""
    import av  # PyAV: the audio decoder for video containers, installed from PyPI with its FFmpeg

    chunks = []
    try:
        with av.open(str(src)) as container:
            if not container.streams.audio:
                raise CorpusError(f"{src}: no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
            for frame in container.decode(container.streams.audio[0]):
                chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    except CorpusError:
        raise
    except Exception as e:  # PyAV raises av.error.FFmpegError subclasses and OSError
        raise CorpusError(f"{src}: cannot decode the audio ({e})") from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    if samples.size == 0:
        raise CorpusError(f"{src}: the audio stream holds no samples")
    with atomic_write(dst, "wb") as f:
        soundfile.write(f, samples, sample_rate, format="WAV", subtype="PCM_16")


def _extract_one(job: tuple[Path, Path]) -> str | None:
    src, dst = job
    try:
        extract_audio(src, dst)
    except CorpusError as e:
        return str(e)
    return None


def extract_all(jobs: dict[str, tuple[Path, Path]], nj: int = 1) -> dict[str, str]:
    """Extract ``{utt: (media, wav)}`` (wavs already there are kept); return ``{utt: problem}``."""
    problems = {
        utt: f"{src}: file does not exist" for utt, (src, _) in jobs.items() if not src.is_file()
    }
    todo = sorted(
        utt for utt, (src, dst) in jobs.items() if utt not in problems and not dst.is_file()
    )
    if todo:
        logger.info("extracting 16 kHz audio from %d media files with %d jobs", len(todo), nj)
    args = [jobs[utt] for utt in todo]
    progress = dict(total=len(todo), desc="extracting audio", mininterval=5)
    if nj > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=nj) as pool:
            results = list(tqdm(pool.map(_extract_one, args, chunksize=16), **progress))
    else:
        results = [_extract_one(job) for job in tqdm(args, **progress)]
    problems.update({utt: why for utt, why in zip(todo, results) if why is not None})
    return problems


def default_audio_dir(output_dir: Path, corpus: str) -> Path:
    """Where extracted wavs go by default: ``<output_dir>/../wav/<corpus>``."""
    return Path(os.path.abspath(Path(output_dir) / ".." / "wav" / corpus))
