"""MER2023 and OV-MERD+: Chinese multimodal emotion recognition from video clips (Lian et al.,
the MER challenge series and AffectGPT).

MER2023: clips of Chinese films and TV series, one speaker each: ``train`` (3373 clips, discrete
label and valence), ``test1`` (411), ``test2`` (412), ``test3`` (834, noisy); 6 discrete labels
(neutral, angry, happy, sad, worried, surprise). OV-MERD+: 532 clips with open-vocabulary emotion
labels (a free list of emotion words per clip). License: the MER end-user license agreement, for
academic research; apply at http://merchallenge.cn/ (the data is on
https://huggingface.co/datasets/MERChallenge/MER2023 once approved; OV-MERD+ with MER2025).

Expected layout (``--corpus_dir`` holds the extracted archives; the files are found at any depth)::

    mer2023train/train-label.csv          name,discrete,valence
    mer2023train/train/sample_00000007.avi  (or .mp4)
    test-labels/test1-label.csv  test2-label.csv  test3-label.csv        same columns
    test1/ test2/ test3/                  the test clips
    ovmerdplus/ovlabel.csv                name,openset    openset like "['happy', 'relaxed']"
    ovmerdplus/audio/<name>.wav           (or video/<name>.mp4: the audio is then extracted)

Sets: ``train`` and ``dev`` (a seeded random ``--dev_ratio`` of the official train, for model
selection: MER2023 has no official dev), ``test1``, ``test2``, ``test3`` (each when its label file
is present) with ``utt2emo``; ``ovmerdplus`` with ``utt2ovlabels`` (the words lower-cased,
comma-separated; an empty list becomes ``neutral``, as AffectGPT reads it). Video audio is decoded
with PyAV into 16 kHz mono wavs under ``--audio_dir`` (default ``<output_dir>/../wav/mer2023``).
No speaker ids: each clip is its own speaker. ``--transcripts`` names a CSV (``name`` plus the
``--text_column``) whose text goes into ``text``.

OV-MERD+ has no official split. ``--ov_folds K`` (K >= 2; default 0, none) adds a K-fold
cross-validation of it, the same on every run: the clips sorted by name are cut into K contiguous
blocks of near-equal size; ``ovmerdplus_fold<k>_test`` is block k, ``ovmerdplus_fold<k>_dev`` a
seeded random ``--dev_ratio`` of the other clips (seed ``--seed`` + k) and
``ovmerdplus_fold<k>_train`` the rest. Every clip is tested in exactly one fold, so the K test sets
together score the whole of OV-MERD+.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from emorl.data.corpora import _common
from emorl.data.corpora._common import CorpusError, Utt
from emorl.data.labels import LABEL_SETS

logger = logging.getLogger(__name__)

LABEL_FILES = {
    "train": "train-label.csv",
    "test1": "test1-label.csv",
    "test2": "test2-label.csv",
    "test3": "test3-label.csv",
}
OV_FILE = "ovlabel.csv"
TOTALS = {"train": 3373, "test1": 411, "test2": 412, "test3": 834, "ovmerdplus": 532}
MEDIA = (".avi", ".mp4", ".wav")


def add_arguments(parser) -> None:
    parser.add_argument(
        "--audio_dir", type=Path, help="extracted wavs (default <output_dir>/../wav/mer2023)"
    )
    parser.add_argument("--nj", type=int, default=2, help="parallel audio extraction processes")
    parser.add_argument(
        "--dev_ratio",
        type=float,
        default=0.1,
        help="dev share of the official train (and of each OV-MERD+ fold's train)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the dev selection")
    parser.add_argument(
        "--ov_folds", type=int, default=0, help="OV-MERD+ cross-validation folds (0: none)"
    )
    parser.add_argument(
        "--transcripts", type=Path, help="CSV with the transcripts (name + text column)"
    )
    parser.add_argument(
        "--text_column", default="sentence", help="the transcript column of --transcripts"
    )
    _common.add_media_arguments(parser)


def parse_openset(value: str) -> list[str]:
    """Emotion words of an OV-MERD+ ``openset`` cell: ``"['happy', 'relaxed']"`` or
    ``happy, relaxed``."""
    words = []
    for part in re.split(r"[,，;；\n]", value.strip().strip("[]")):
        word = " ".join(part.strip().strip("'\"").lower().split())
        if word and word not in words:
            words.append(word)
    return words


def _find(corpus_dir: Path, name: str) -> Path | None:
    found = sorted(corpus_dir.rglob(name))
    if len(found) > 1:
        raise CorpusError(f"{corpus_dir}: several {name} ({[str(p) for p in found]}); keep one")
    return found[0] if found else None


def _media_path(index: dict[str, list[Path]], name: str, split: str, where: str) -> Path | None:
    paths = index.get(name, [])
    if len(paths) > 1:
        paths = [p for p in paths if split in p.parts] or paths
    if len(paths) > 1:
        raise CorpusError(f"{where}: several media files for {name}: {[str(p) for p in paths]}")
    return paths[0] if paths else None


def prepare(
    corpus_dir,
    output_dir,
    audio_dir: Path | None = None,
    nj: int = 2,
    dev_ratio: float = 0.1,
    seed: int = 0,
    transcripts: Path | None = None,
    text_column: str = "sentence",
    skip_bad_media: bool = False,
    ov_folds: int = 0,
) -> None:
    """Prepare the MER2023 sets (discrete labels) and the OV-MERD+ set (open vocabulary)."""
    corpus_dir, output_dir = Path(corpus_dir).absolute(), Path(output_dir)
    audio_dir = (
        Path(audio_dir).absolute()
        if audio_dir
        else _common.default_audio_dir(output_dir, "mer2023")
    )
    options = dict(
        audio_dir=str(audio_dir),
        dev_ratio=dev_ratio,
        seed=seed,
        transcripts=str(Path(transcripts).absolute()) if transcripts else None,
        text_column=text_column,
        ov_folds=ov_folds,
    )
    if ov_folds < 0 or ov_folds == 1:
        raise CorpusError(f"--ov_folds {ov_folds}: give 0 (no folds) or at least 2 folds")
    if _common.is_completed(output_dir, "mer2023", corpus_dir, options):
        return
    expected = (
        "the extracted MER2023 archives (train-label.csv, test*-label.csv) and/or OV-MERD+ "
        "(ovlabel.csv)"
    )
    _common.require_dir(corpus_dir, "MER2023", expected)
    label_files = {s: p for s, f in LABEL_FILES.items() if (p := _find(corpus_dir, f)) is not None}
    ov_file = _find(corpus_dir, OV_FILE)
    if not label_files and ov_file is None:
        raise CorpusError(f"{corpus_dir}: no label files; expected {expected}")
    index: dict[str, list[Path]] = {}
    for path in sorted(corpus_dir.rglob("*")):
        if path.suffix.lower() in MEDIA:
            index.setdefault(path.stem, []).append(path)
    texts = {}
    if transcripts:
        rows = _common.read_csv(Path(transcripts), ("name", text_column), "a transcripts CSV")
        texts = {row["name"]: _common.clean_text(row[text_column]) for _, row in rows}

    sets: dict[str, dict[str, Utt]] = {}
    jobs: dict[str, tuple[Path, Path]] = {}

    def add(split: str, name: str, media: Path | None, **fields) -> None:
        if media is not None and media.suffix == ".wav":
            wav = media
        else:  # decoded from the video into audio_dir
            wav = audio_dir / split / f"{name}.wav"
            missing = Path(f"<no media file for {name} under {corpus_dir}>")
            jobs[f"{split}/{name}"] = (media or missing, wav)
        sets.setdefault(split, {})[name] = Utt(spk=name, wav=wav, text=texts.get(name), **fields)

    for split, path in label_files.items():
        for lineno, row in _common.read_csv(path, ("name", "discrete"), "a MER2023 label file"):
            label = row["discrete"].strip().lower()
            if label not in LABEL_SETS["mer2023"]:
                raise CorpusError(
                    f"{path}:{lineno}: label {row['discrete']!r} is not a MER2023 label "
                    f"{list(LABEL_SETS['mer2023'])}"
                )
            name = row["name"].strip()
            add(split, name, _media_path(index, name, split, f"{path}:{lineno}"), emo=label)
    if ov_folds and ov_file is None:
        raise CorpusError(f"{corpus_dir}: --ov_folds {ov_folds} needs OV-MERD+ ({OV_FILE})")
    if ov_file is not None:
        audio = ov_file.parent / "audio"
        for lineno, row in _common.read_csv(ov_file, ("name", "openset"), "an OV-MERD+ label file"):
            name = row["name"].strip()
            media = (
                audio / f"{name}.wav"
                if (audio / f"{name}.wav").is_file()
                else _media_path(index, name, "video", f"{ov_file}:{lineno}")
            )
            words = parse_openset(row["openset"]) or ["neutral"]
            add("ovmerdplus", name, media, ovlabels=",".join(words))

    for split, utts in sets.items():
        _common.check_total(f"MER2023 {split}", len(utts), TOTALS[split])
    problems = _common.extract_all(jobs, nj=nj)
    flat = {f"{split}/{name}": u for split, utts in sets.items() for name, u in utts.items()}
    kept = _common.check_media(flat, skip_bad=skip_bad_media, problems=problems)
    sets = {s: {n: u for n, u in utts.items() if f"{s}/{n}" in kept} for s, utts in sets.items()}
    if "train" in sets:
        dev = _common.holdout(sets["train"], dev_ratio, seed)
        sets["dev"] = {n: sets["train"][n] for n in sorted(dev)}
        sets["train"] = {n: u for n, u in sets["train"].items() if n not in dev}
    if ov_folds:
        folds = _common.speaker_fold_sets(sets["ovmerdplus"], ov_folds, dev_ratio, seed)
        sets.update({f"ovmerdplus_{name}": utts for name, utts in folds.items()})
    _common.write_sets(
        output_dir,
        "mer2023",
        corpus_dir,
        options,
        dict(sorted(sets.items())),
        LABEL_SETS["mer2023"],
    )
