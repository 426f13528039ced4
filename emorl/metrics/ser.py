"""Speech emotion recognition metrics: UA, WA, macro-F1, weighted-F1, per class, confusion matrix.

Conventions (the field's, made explicit):
- UA (unweighted accuracy) = macro-averaged recall; WA (weighted accuracy) = accuracy.
- The averaged metrics run over the classes present in the reference. A prediction of a class
  absent from the reference is an error (it lowers the recall of the true class) but that class
  adds no zero-F1 term of its own. A reference class never predicted has precision 0 and F1 0.
- Per class, an undefined value (the precision of a class never predicted, the recall of a class
  absent from the reference) is reported as ``None``, never as a number.
- Folds and seeds aggregate as mean and sample standard deviation (0 for a single value).
All computations are scikit-learn's; values are fractions in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    recall_score,
)

from emorl.data.labels import map_labels

#: The four numbers reported for every SER result, in table order.
METRICS = ("ua", "wa", "macro_f1", "weighted_f1")
METRIC_NAMES = {"ua": "UA", "wa": "WA", "macro_f1": "macro-F1", "weighted_f1": "weighted-F1"}


class UnseenLabelError(ValueError):
    """A reference label the model cannot predict, with no label map to translate it."""


def _nan_to_none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def ser_scores(
    references: dict[str, str], predictions: dict[str, str], labels: Sequence[str] | None = None
) -> dict:
    """Score ``utt -> predicted label`` against ``utt -> reference label``.

    ``labels``: the class order of the per-class report and the confusion matrix (default: every
    label seen, sorted). Both dicts must hold the same utterances. Returns ``ua``, ``wa``,
    ``macro_f1``, ``weighted_f1``, ``num_utts``, ``per_class`` (label -> precision, recall, f1,
    support, predicted) and ``confusion`` (labels, matrix: rows reference, columns prediction).
    """
    if set(references) != set(predictions):
        missing = sorted(set(references) - set(predictions))
        extra = sorted(set(predictions) - set(references))
        raise ValueError(
            f"references and predictions differ: "
            f"{len(missing)} without prediction (e.g. {missing[:5]}), "
            f"{len(extra)} without reference (e.g. {extra[:5]})"
        )
    if not references:
        raise ValueError("no utterances to score")
    seen = set(references.values()) | set(predictions.values())
    labels = sorted(seen) if labels is None else list(labels)
    outside = seen - set(labels)
    if outside:
        raise ValueError(f"labels {sorted(outside)} are not among the classes {labels}")
    # Integer codes: scikit-learn is much faster on them than on strings.
    index = {label: i for i, label in enumerate(labels)}
    utts = sorted(references)
    y_true = np.fromiter((index[references[u]] for u in utts), dtype=np.int64, count=len(utts))
    y_pred = np.fromiter((index[predictions[u]] for u in utts), dtype=np.int64, count=len(utts))
    all_ids = list(range(len(labels)))
    ref_ids = sorted(set(np.unique(y_true).tolist()))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=all_ids, zero_division=np.nan
    )
    matrix = confusion_matrix(y_true, y_pred, labels=all_ids)
    per_class = {}
    for i, label in enumerate(labels):
        per_class[label] = {
            "precision": _nan_to_none(precision[i]),
            "recall": _nan_to_none(recall[i]),
            # A class in the reference that is never predicted scores F1 0 (it is then undefined
            # only through its precision); a class absent from the reference has no F1.
            "f1": None if support[i] == 0 else float(np.nan_to_num(f1[i])),
            "support": int(support[i]),
            "predicted": int(matrix[:, i].sum()),
        }
    return {
        "ua": float(recall_score(y_true, y_pred, labels=ref_ids, average="macro", zero_division=0)),
        "wa": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=ref_ids, average="macro", zero_division=0)
        ),
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=ref_ids, average="weighted", zero_division=0)
        ),
        "num_utts": len(utts),
        "per_class": per_class,
        "confusion": {"labels": labels, "matrix": matrix.tolist()},
    }


def score_predictions(
    references: dict[str, str],
    predictions: dict[str, str],
    labels: Sequence[str],
    label_map: dict[str, str] | None = None,
) -> dict:
    """:func:`ser_scores` for a model with classes ``labels``, across corpora through ``label_map``.

    References are mapped through ``label_map`` (``<test-corpus label> -> <model label>``; labels
    already among ``labels`` pass unchanged). Utterances whose reference cannot be mapped are
    left out of the scores and counted in ``unmapped`` (label -> count). Without a label map, a
    reference label the model does not have raises :class:`UnseenLabelError`.
    """
    if label_map is None:
        unseen: dict[str, list[str]] = {}
        for utt, label in references.items():
            if label not in labels:
                unseen.setdefault(label, []).append(utt)
        if unseen:
            details = ", ".join(
                f"{label!r}: {len(u)} utts (e.g. {sorted(u)[0]})"
                for label, u in sorted(unseen.items())
            )
            raise UnseenLabelError(
                f"reference labels unseen in training (the model's classes are {list(labels)}): "
                f"{details}; give a label map (--label_map) to score across corpora"
            )
        mapped, unmapped = dict(references), {}
    else:
        mapped, unmapped = map_labels(references, label_map, labels)
    scores = ser_scores(mapped, {utt: predictions[utt] for utt in mapped}, labels)
    scores["unmapped"] = unmapped
    return scores


def aggregate(results: Sequence[dict], keys: Sequence[str] = METRICS) -> dict[str, dict]:
    """Mean and sample standard deviation of each metric over folds or seeds.

    Returns ``key -> {"mean", "std", "n"}``; ``std`` is 0 for a single result.
    """
    if not results:
        raise ValueError("aggregate: no results")
    out = {}
    for key in keys:
        values = np.array([r[key] for r in results], dtype=np.float64)
        std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out[key] = {"mean": float(values.mean()), "std": std, "n": len(values)}
    return out


def confusion_text(scores: dict) -> str:
    """The confusion matrix as an aligned text table (rows: reference, columns: prediction)."""
    labels = scores["confusion"]["labels"]
    matrix = scores["confusion"]["matrix"]
    width = max(
        [len(label) for label in labels]
        + [len(str(v)) for row in matrix for v in row]
        + [len("ref\\hyp")]
    )
    lines = ["ref\\hyp".ljust(width) + " " + " ".join(label.rjust(width) for label in labels)]
    for label, row in zip(labels, matrix):
        lines.append(label.ljust(width) + " " + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines) + "\n"


def per_class_text(scores: dict) -> str:
    """The per-class report (precision, recall, F1, support, predicted) as a text table."""

    def fmt(value):
        return "-" if value is None else f"{100 * value:.1f}"

    rows = [("class", "precision", "recall", "F1", "support", "predicted")]
    for label, c in scores["per_class"].items():
        rows.append(
            (
                label,
                fmt(c["precision"]),
                fmt(c["recall"]),
                fmt(c["f1"]),
                str(c["support"]),
                str(c["predicted"]),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(" ".join(v.rjust(w) for v, w in zip(r, widths)) for r in rows) + "\n"
