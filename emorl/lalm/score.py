"""Score an audio-LM decode dir with its task's scorer; every scorer writes ``scores.json``.

- ``emo``: the SER scorer (:func:`emorl.metrics.ser.score_predictions`: UA, WA, F1, confusion)
  over the predicted classes; answers naming no class count as errors and their number is
  ``num_unparsable``. ``"task": "ser"``, as a classifier's scores.
- ``cap``: the caption scorer (:func:`emorl.metrics.caption.score_caption_decode_dir`, which reads
  the decode dir's ``captions``): BLEU, METEOR, ROUGE-L, Distinct-n, Emo-F1; ``"task": "cap"``.
- ``ov``: the emotion-wheel scorer (:func:`emorl.metrics.wheel.write_ew_scores`) of the answers'
  words against ``utt2ovlabels``: EW-F/P/R per wheel; ``"task": "ov"``.

All three also report ``num_format_valid`` (completions in exactly the requested format).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from emorl.atomic import atomic_write
from emorl.data.datadir import read_table
from emorl.data.labels import read_label_map
from emorl.lalm.data import load_task_data
from emorl.lalm.decode_dir import UNPARSABLE, read_decoded
from emorl.metrics.ser import confusion_text, score_predictions
from emorl.ser.coverage import check_coverage
from emorl.ser.decode_dir import read_labels


def _score_emo(data_dir: Path, decode_dir: Path, label_map: str | None = None) -> dict:
    references = read_table(data_dir / "utt2emo")
    predictions = read_table(decode_dir / "predictions")
    labels = read_labels(decode_dir / "labels")
    utts = check_coverage(
        predictions, references, str(decode_dir / "predictions"), str(data_dir / "utt2emo")
    )
    mapping = read_label_map(label_map) if label_map else None
    scores = score_predictions(
        {u: references[u] for u in utts}, {u: predictions[u] for u in utts}, labels, mapping
    )
    scores["num_unparsable"] = sum(predictions[u] == UNPARSABLE for u in utts)
    with atomic_write(decode_dir / "confusion.txt") as f:
        f.write(confusion_text(scores))
    return {"task": "ser", **scores}


def score_decode_dir(
    task: str, data_dir: str | os.PathLike, decode_dir: str | os.PathLike, **options
) -> dict:
    """Score ``decode_dir`` against ``data_dir`` with ``task``'s scorer; write ``scores.json``.

    ``options`` go to the task's scorer (emo: ``label_map``, a file of ``<test> <model>`` labels).
    """
    data_dir, decode_dir = Path(data_dir), Path(decode_dir)
    decoded = read_decoded(decode_dir)
    if task == "emo":
        scores = _score_emo(data_dir, decode_dir, **options)
    elif task == "cap":
        from emorl.metrics.caption import score_caption_decode_dir

        scores = score_caption_decode_dir(data_dir, decode_dir, **options)
    elif task == "ov":
        from emorl.metrics.wheel import write_ew_scores

        data = load_task_data(data_dir, "ov", validate_dir=False)
        hypotheses = {d.utt: d.answer or "" for d in decoded}
        check_coverage(hypotheses, data.utts, str(decode_dir), str(data_dir / "utt2ovlabels"))
        references = {utt: data.ovlabels(utt) for utt in data.utts}
        scores = write_ew_scores(decode_dir, hypotheses, references, **options)
    else:
        raise ValueError(f"unknown task {task!r}; tasks: emo, cap, ov")
    scores["num_format_valid"] = sum(d.format_valid for d in decoded)
    with atomic_write(decode_dir / "scores.json") as f:
        json.dump(scores, f, indent=2)
    logging.info(
        "%s: %s", decode_dir, {k: v for k, v in scores.items() if not isinstance(v, (dict, list))}
    )
    return scores
