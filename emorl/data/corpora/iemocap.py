"""IEMOCAP: the Interactive Emotional Dyadic Motion Capture database (USC SAIL).

About 12 hours of English dyadic conversations, scripted and improvised, by 10 actors (5 sessions,
one woman and one man each), segmented into 10,039 utterances, each labelled by at least three
annotators with a categorical emotion (the majority label: neu, hap, exc, ang, sad, fru, sur, fea,
dis, oth, or xxx for no majority) and valence/arousal/dominance.
License: free for academic research under the USC release form; request it at
https://sail.usc.edu/iemocap/ (the download is ``IEMOCAP_full_release.tar.gz``).

Expected layout (``--corpus_dir`` is the extracted ``IEMOCAP_full_release``)::

    Session1/ ... Session5/
        dialog/EmoEvaluation/Ses01F_impro01.txt           labels, one block per utterance:
            [6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]
        dialog/transcriptions/Ses01F_impro01.txt          transcripts, one line per utterance:
            Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.
        sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav   one 16 kHz wav per utterance

Protocol: leave-one-session-out, 5 folds. ``fold<k>_test`` is Session k (both speakers);
the other four sessions give ``fold<k>_train`` and ``fold<k>_dev`` (a seeded random ``--dev_ratio``
of their utterances, for model selection). Label sets:
- ``iemocap4`` (default): neutral, happy (hap and exc merged), angry, sad; 5531 utterances
  (2943 with ``--improvised_only true``);
- ``iemocap6``: neutral, happy, excited, angry, sad, frustrated; 7380 utterances.
Other labels (sur, fea, dis, oth, xxx) are left out. The speaker is the session plus the gender
letter of the utterance's own id (``Ses01F_impro01_M000`` is spoken by ``Ses01M``); utterance ids
are ``<speaker>-<IEMOCAP id>``. Transcripts go into ``text``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from emorl import cli
from emorl.data.corpora import _common
from emorl.data.corpora._common import CorpusError, Utt
from emorl.data.labels import LABEL_SETS

logger = logging.getLogger(__name__)

SESSIONS = [f"Session{k}" for k in range(1, 6)]
#: Every code the EmoEvaluation files use.
RAW_LABELS = ("neu", "hap", "exc", "ang", "sad", "fru", "sur", "fea", "dis", "oth", "xxx")
LABEL_MAPS = {
    "iemocap4": {"neu": "neutral", "hap": "happy", "exc": "happy", "ang": "angry", "sad": "sad"},
    "iemocap6": {
        "neu": "neutral",
        "hap": "happy",
        "exc": "excited",
        "ang": "angry",
        "sad": "sad",
        "fru": "frustrated",
    },
}
#: Utterance counts of the official release, by (label set, improvised only).
TOTALS = {("iemocap4", False): 5531, ("iemocap4", True): 2943, ("iemocap6", False): 7380}

_EVAL_LINE = re.compile(r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(Ses\S+)\s+(\S+)\s+\[")
_TRANS_LINE = re.compile(r"^(Ses\S+)\s+\[[\d.]+-[\d.]+\]:\s*(.*)$")


def add_arguments(parser) -> None:
    parser.add_argument(
        "--label_set",
        default="iemocap4",
        choices=sorted(LABEL_MAPS),
        help="iemocap4: neutral, happy+excited, angry, sad; iemocap6: adds excited, frustrated",
    )
    parser.add_argument(
        "--improvised_only", type=cli.str2bool, default=False, help="only improvised dialogs"
    )
    _common.add_fold_arguments(parser, num_folds=None)
    _common.add_media_arguments(parser)


def speaker_of(utt_id: str) -> str:
    """``Ses01F_impro01_M000`` -> ``Ses01M``: the session and the speaking actor's gender."""
    return utt_id[:5] + utt_id.rsplit("_", 1)[1][0]


def read_labels(path: Path) -> dict[str, str]:
    """The raw label of each utterance in an EmoEvaluation file."""
    labels = {}
    for lineno, line in enumerate(
        path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
    ):
        match = _EVAL_LINE.match(line)
        if match is None:
            continue
        utt, label = match.group(3), match.group(4)
        if label not in RAW_LABELS:
            raise CorpusError(
                f"{path}:{lineno}: label {label!r} of {utt} is not an IEMOCAP label "
                f"{list(RAW_LABELS)}"
            )
        labels[utt] = label
    if not labels:
        raise CorpusError(f"{path}: no '[start - end]<TAB>utterance<TAB>label<TAB>[V, A, D]' lines")
    return labels


def read_transcripts(path: Path) -> dict[str, str]:
    """The transcript of each utterance in a transcriptions file (other lines are ignored)."""
    texts = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _TRANS_LINE.match(line.strip())
        if match is not None:
            texts[match.group(1)] = match.group(2)
    return texts


def prepare(
    corpus_dir,
    output_dir,
    label_set: str = "iemocap4",
    improvised_only: bool = False,
    dev_ratio: float = 0.1,
    seed: int = 0,
    skip_bad_media: bool = False,
) -> None:
    """Prepare ``fold{1..5}_{train,dev,test}`` from IEMOCAP_full_release."""
    corpus_dir, output_dir = Path(corpus_dir).absolute(), Path(output_dir)
    options = dict(
        label_set=label_set, improvised_only=improvised_only, dev_ratio=dev_ratio, seed=seed
    )
    if _common.is_completed(output_dir, "iemocap", corpus_dir, options):
        return
    if label_set not in LABEL_MAPS:
        raise ValueError(f"label_set must be one of {sorted(LABEL_MAPS)}, not {label_set!r}")
    expected = "IEMOCAP_full_release, the directory that contains Session1 ... Session5"
    _common.require_dir(corpus_dir, "IEMOCAP", expected)
    for session in SESSIONS:
        _common.require_dir(corpus_dir / session, "IEMOCAP", expected)
    mapping = LABEL_MAPS[label_set]
    utts: dict[str, Utt] = {}
    utt2session: dict[str, str] = {}
    skipped = 0
    for session in SESSIONS:
        dialog = corpus_dir / session / "dialog"
        label_files = sorted(
            p for p in (dialog / "EmoEvaluation").glob("*.txt") if not p.name.startswith(".")
        )
        if not label_files:
            raise CorpusError(
                f"{dialog / 'EmoEvaluation'}: no label files (Ses*.txt); the IEMOCAP release "
                "has one per dialog"
            )
        for label_file in label_files:
            if improvised_only and "_impro" not in label_file.stem:
                continue
            transcript_file = dialog / "transcriptions" / label_file.name
            texts = read_transcripts(transcript_file) if transcript_file.is_file() else {}
            for name, raw in read_labels(label_file).items():
                if raw not in mapping:
                    skipped += 1
                    continue
                spk = speaker_of(name)
                utt = f"{spk}-{name}"
                wav = corpus_dir / session / "sentences" / "wav" / label_file.stem / f"{name}.wav"
                utts[utt] = Utt(
                    spk=spk, wav=wav, emo=mapping[raw], text=_common.clean_text(texts.get(name))
                )
                utt2session[utt] = session
    logger.info(
        "IEMOCAP: %d utterances kept, %d with labels outside %s left out",
        len(utts),
        skipped,
        label_set,
    )
    utts = _common.check_media(utts, skip_bad=skip_bad_media)
    if (label_set, improvised_only) in TOTALS:
        _common.check_total(f"IEMOCAP ({label_set})", len(utts), TOTALS[label_set, improvised_only])
    fold_sets = _common.folds(
        {u: utt2session[u] for u in utts}, [[s] for s in SESSIONS], dev_ratio, seed
    )
    sets = {name: _common.subset(utts, keys) for name, keys in fold_sets.items()}
    _common.write_sets(output_dir, "iemocap", corpus_dir, options, sets, LABEL_SETS[label_set])
