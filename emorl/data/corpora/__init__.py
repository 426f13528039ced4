"""Corpus preparers: one module per corpus, each with ``prepare(corpus_dir, output_dir, ...)``."""
