"""Shared fixtures of the corpus tests: the synthetic mini_emo corpus, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from emorl.data.corpora import mini_emo


@pytest.fixture(scope="session")
def mini_emo_ci(tmp_path_factory) -> tuple[Path, Path]:
    """The ``ci`` size mini_emo corpus (360 utterances): ``(corpus_dir, output_dir)``."""
    root = tmp_path_factory.mktemp("mini_emo_ci")
    mini_emo.prepare(root / "db", root / "data", size="ci", seed=0, nj=2)
    return root / "db", root / "data"
