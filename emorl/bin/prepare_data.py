r"""Stage 1: prepare a corpus into validated Kaldi data dirs.

Each corpus is a module ``emorl/data/corpora/<corpus>.py`` with ``add_arguments(parser)`` (its own
options) and ``prepare(corpus_dir, output_dir, **options)``.

Usage:
    python -m emorl.bin.prepare_data --corpus mini_emo --corpus_dir db/mini_emo --output_dir data
    python -m emorl.bin.prepare_data --corpus iemocap --corpus_dir /data/IEMOCAP_full_release \
        --output_dir data --help          # lists the corpus's own options
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
from pathlib import Path

import emorl.data.corpora
from emorl import cli
from emorl.data.audio import AudioError
from emorl.data.corpora._common import CorpusError
from emorl.data.datadir import DataDirError


def corpus_names() -> list[str]:
    """The corpora that have a preparer."""
    return sorted(
        m.name
        for m in pkgutil.iter_modules(emorl.data.corpora.__path__)
        if not m.name.startswith("_")
    )


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    pre = cli.get_parser(__doc__)
    pre.add_argument("--corpus", required=True, help=f"one of: {', '.join(corpus_names())}")
    known, _ = pre.parse_known_args([a for a in argv if a not in ("-h", "--help")])
    if known.corpus not in corpus_names():
        pre.error(f"unknown corpus {known.corpus!r}; choose from {corpus_names()}")
    module = importlib.import_module(f"emorl.data.corpora.{known.corpus}")

    parser = cli.get_parser(__doc__ + "\n" + (module.__doc__ or ""))
    parser.add_argument("--corpus", required=True, help="the corpus preparer")
    parser.add_argument("--corpus_dir", type=Path, required=True, help="the corpus on disk")
    parser.add_argument("--output_dir", type=Path, required=True, help="where data/<set> dirs go")
    module.add_arguments(parser)
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    options = {
        k: v
        for k, v in vars(args).items()
        if k not in ("config", "corpus", "corpus_dir", "output_dir")
    }
    logging.info("preparing %s from %s into %s", args.corpus, args.corpus_dir, args.output_dir)
    try:
        module.prepare(args.corpus_dir, args.output_dir, **options)
    except (CorpusError, DataDirError, AudioError) as e:
        sys.exit(f"prepare_data: error: {e}")


if __name__ == "__main__":
    main()
