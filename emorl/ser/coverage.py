"""Do features (or predictions) and labels cover the same utterances? (torch-free, for scoring.)"""

from __future__ import annotations

import logging
from collections.abc import Sequence


class CoverageError(ValueError):
    """Features and labels do not cover the same utterances."""


def check_coverage(
    feats_utts: Sequence[str],
    label_utts: Sequence[str],
    feats_where: str = "features",
    labels_where: str = "labels",
    allow_missing: bool = False,
) -> list[str]:
    """The sorted utterances that have both features and labels.

    When the two sets differ: raise :class:`CoverageError` saying how many and which (the first
    few) are missing on each side, or, with ``allow_missing``, log that and keep the common ones.
    """
    feats_set, label_set = set(feats_utts), set(label_utts)
    no_label = sorted(feats_set - label_set)
    no_feats = sorted(label_set - feats_set)
    common = sorted(feats_set & label_set)
    if no_label or no_feats:
        parts = []
        if no_feats:
            parts.append(
                f"{len(no_feats)} utterances of {labels_where} have no features in {feats_where} "
                f"(e.g. {no_feats[:5]})"
            )
        if no_label:
            parts.append(
                f"{len(no_label)} utterances of {feats_where} have no label in {labels_where} "
                f"(e.g. {no_label[:5]})"
            )
        message = "; ".join(parts)
        if not allow_missing:
            raise CoverageError(
                message + "; rerun the stage that is behind, or pass --allow_missing true"
            )
        logging.warning(
            "%s; keeping the %d common utterances (--allow_missing)", message, len(common)
        )
    if not common:
        raise CoverageError(
            f"no utterance has both features ({feats_where}) and a label ({labels_where})"
        )
    return common
