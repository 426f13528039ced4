"""Content fingerprints: what a feature dump or a training run was made from.

A rerun must never return a stale result, and file names or ``feats.scp`` lines stay the same when
the values behind them change. These hashes are of contents: a dump's fingerprint (stored in its
``feats_info.json``) covers the upstream, its resolved options, its weights and the audio list of
the data dir; a training checkpoint stores the fingerprints of the dumps and models it read.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (a missing file stops, naming it)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; cannot fingerprint it")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, or of a directory's files (relative names and contents, sorted)."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{child.relative_to(path)}\0{file_sha256(child)}\n".encode())
    return digest.hexdigest()


def json_sha256(value) -> str:
    """sha256 of a json-able value in canonical form (sorted keys)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def dump_fingerprint(dump_dir: str | os.PathLike) -> str:
    """The fingerprint stored in a dump's ``feats_info.json`` by stage 2; for a dump without one
    (written by other tools), the hash of ``feats_info.json``, ``feats.scp`` and the ark files."""
    dump_dir = Path(dump_dir)
    path = dump_dir / "feats_info.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; run stage 2 (feature extraction) first")
    fingerprint = json.loads(path.read_text()).get("fingerprint")
    if fingerprint:
        return fingerprint
    scp = dump_dir / "feats.scp"
    arks = sorted(
        {line.split(maxsplit=1)[1].rsplit(":", 1)[0] for line in open(scp) if line.strip()}
    )
    return json_sha256([file_sha256(path), file_sha256(scp)] + [file_sha256(ark) for ark in arks])


def model_sha256(model_dir: str | os.PathLike) -> str:
    """sha256 of a model dir's ``model.pt`` (stage 3's and stage 4's format)."""
    return file_sha256(Path(model_dir) / "model.pt")
