"""How much the acoustic words of the SFT targets say about the emotion, with and without
per-speaker normalisation, and how closely their descriptors follow mini_emo's rendering.

For each item of :mod:`emorl.lalm.targets` (pitch level, pitch range, rate, loudness, roughness),
the mutual information in bits between its low/medium/high word and the utterance's label
(``utt2emo``), with the tertiles estimated on the same set. With ``--metadata`` (mini_emo's
``metadata.tsv``), the Spearman correlation of each speaker-normalised functional with the
speaker-normalised rendering parameter it should reflect, including the alternative rate measure
``VoicedSegmentsPerSec``.

Usage:
    python bench/acoustic_words.py --data_dir data/src_train \
        [--metadata db/mini_emo/metadata.tsv]   # from egs/mini_emo/emo1
"""

from __future__ import annotations

import argparse
import csv

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import mutual_info_score

from emorl.data.audio import load_utterance
from emorl.data.datadir import DataDir
from emorl.lalm.targets import (
    DESCRIPTORS,
    VOICING,
    AcousticThresholds,
    normalise_by_speaker,
    pick_descriptors,
)
from emorl.upstream.egemaps import EgemapsUpstream

ITEMS = ("pitch_level", "pitch_range", "rate", "loudness", "roughness")
#: Functional -> the mini_emo rendering parameter (metadata.tsv column) it should follow.
RENDERING = {
    DESCRIPTORS["pitch_level"]: "pitch",
    DESCRIPTORS["pitch_range"]: "pitch_range",
    DESCRIPTORS["rate"]: "rate",
    VOICING: "rate",
    DESCRIPTORS["loudness"]: "volume",
}


def _levels(descriptors: dict, utts: list[str], normalise: str) -> dict[str, list[int]]:
    th = AcousticThresholds.estimate(descriptors, normalise)
    out = {}
    for item in ITEMS:
        if item == "roughness":
            values = [th.roughness(descriptors[u]) for u in utts]
        else:
            values = [descriptors[u][item] for u in utts]
        out[item] = [th.level(item, v) for v in values]
    return out


def _by_speaker(values: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    out = values.astype(np.float64)
    for spk in set(speakers):
        m = speakers == spk
        out[m] = (out[m] - out[m].mean()) / (out[m].std() or 1.0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--metadata", help="mini_emo metadata.tsv (rendering parameters)")
    args = parser.parse_args()
    data = DataDir.load(args.data_dir)
    utts = data.utts
    upstream = EgemapsUpstream()
    names = upstream.describe()["feature_names"]
    vectors = np.stack([upstream.extract([load_utterance(data, u)], [0])[0][0, 0] for u in utts])
    raw = {u: pick_descriptors(names, v, u) for u, v in zip(utts, vectors)}
    labels = [data.utt2emo[u] for u in utts]
    entropy = mutual_info_score(labels, labels) / np.log(2)
    print(f"{len(utts)} utterances, H(emotion) = {entropy:.2f} bits")
    print(f"{'item':12s} {'MI none':>8s} {'MI speaker':>10s}  (bits)")
    plain = _levels(raw, utts, "none")
    normed = _levels(normalise_by_speaker(raw, data.utt2spk), utts, "speaker")
    for item in ITEMS:
        mi = [mutual_info_score(labels, lv[item]) / np.log(2) for lv in (plain, normed)]
        print(f"{item:12s} {mi[0]:8.2f} {mi[1]:10.2f}")
    if args.metadata:
        with open(args.metadata, newline="") as f:
            meta = {row["utt"]: row for row in csv.DictReader(f, delimiter="\t")}
        speakers = np.array([data.utt2spk[u] for u in utts])
        print(f"\n{'functional':45s} {'parameter':12s} {'Spearman':>8s}  (speaker-normalised)")
        for functional, param in RENDERING.items():
            x = _by_speaker(vectors[:, names.index(functional)], speakers)
            y = _by_speaker(np.array([float(meta[u][param]) for u in utts]), speakers)
            print(f"{functional:45s} {param:12s} {spearmanr(x, y).statistic:+8.2f}")


if __name__ == "__main__":
    main()
