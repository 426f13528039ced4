"""Kaldi data directories, audio I/O, corpus preparers and label sets."""
