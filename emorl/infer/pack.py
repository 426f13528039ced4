"""Packed models: one zip archive that a recogniser loads on another machine.

The archive holds the files the model's kind lists (SER: ``model.pt``, ``labels``,
``config.yaml``, the training dump's ``feats_info.json``), ``RESULTS`` (one line per scored eval
set of the exp dir) and ``emorl_model.json``, the manifest: ``format``, ``kind``, the label set,
the upstream (name, options, layers, pooling; its weights are referenced by name and path, never
bundled), ``emorl_version``, ``git_commit`` (:mod:`emorl.version`), ``results`` (the RESULTS
lines), ``source`` (the exp dir) and ``sha256`` (file name -> checksum of every other member,
as a wheel's RECORD). Loading verifies every checksum before anything is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import emorl
from emorl.atomic import atomic_write
from emorl.infer.base import KINDS, Recognizer, RecognizerError, detect_kind
from emorl.version import code_version, git_commit

MANIFEST = "emorl_model.json"
FORMAT = 1


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def results_lines(exp_dir: str | os.PathLike) -> list[str]:
    """One line per ``decode_<set>/scores.json`` of an exp dir: the set and its metrics (%)."""
    lines = []
    for path in sorted(Path(exp_dir).glob("decode_*/scores.json")):
        scores = json.loads(path.read_text())
        metrics = " ".join(
            f"{name} {100 * scores[key]:.1f}"
            for key, name in (
                ("ua", "UA"),
                ("wa", "WA"),
                ("macro_f1", "macro-F1"),
                ("weighted_f1", "weighted-F1"),
            )
            if isinstance(scores.get(key), (int, float))
        )
        lines.append(f"{path.parent.name[len('decode_') :]}: {metrics} ({scores['num_utts']} utts)")
    return lines


def pack_model(exp_dir: str | os.PathLike, out: str | os.PathLike) -> dict:
    """Write the packed model of ``exp_dir`` to ``out`` (atomically); returns its manifest."""
    exp_dir = Path(exp_dir)
    kind = detect_kind(exp_dir)
    files, meta = kind.pack_files(exp_dir)
    payload = {name: Path(path).read_bytes() for name, path in files.items()}
    results = results_lines(exp_dir)
    payload["RESULTS"] = "".join(f"{line}\n" for line in results).encode()
    manifest = {
        "format": FORMAT,
        "kind": kind.kind,
        **meta,
        "emorl_version": emorl.__version__,
        "git_commit": git_commit(mark_dirty=True),
        "code_version": code_version(),
        "source": str(exp_dir.resolve()),
        "results": results,
        "sha256": {name: _sha256(data) for name, data in sorted(payload.items())},
    }
    with atomic_write(out, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for name, data in sorted(payload.items()):
            archive.writestr(name, data)
    return manifest


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of a packed model (not verified)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(MANIFEST))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as e:
        raise RecognizerError(f"{path}: not a packed emorl model ({e})") from None


def unpack_model(path: str | os.PathLike, dest: str | os.PathLike) -> dict:
    """Extract a packed model into ``dest`` after checking every member against the manifest's
    sha256; returns the manifest."""
    path = Path(path)
    if not path.is_file():
        raise RecognizerError(f"{path}: no such packed model")
    manifest = read_manifest(path)
    if manifest.get("format") != FORMAT:
        raise RecognizerError(
            f"{path}: packed model format {manifest.get('format')!r}; this emorl reads {FORMAT}"
        )
    if manifest.get("kind") not in KINDS:
        raise RecognizerError(
            f"{path}: a model of kind {manifest.get('kind')!r}; known kinds: {sorted(KINDS)}"
        )
    expected = manifest.get("sha256") or {}
    with zipfile.ZipFile(path) as archive:
        members = sorted(set(archive.namelist()) - {MANIFEST})
        if members != sorted(expected):
            raise RecognizerError(
                f"{path}: holds {members}, but its manifest lists {sorted(expected)}"
            )
        for name in members:
            if Path(name).name != name or name in (".", ".."):
                raise RecognizerError(f"{path}: member {name!r} is not a plain file name")
            data = archive.read(name)
            if _sha256(data) != expected[name]:
                raise RecognizerError(
                    f"{path}: checksum mismatch for {name} (sha256 {_sha256(data)}, manifest "
                    f"{expected[name]}): the file is corrupt or was modified; pack it again"
                )
            target = Path(dest) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return manifest


def load_packed(path: str | os.PathLike, **options) -> Recognizer:
    """The recogniser of a packed model (see :meth:`Recognizer.from_pretrained`)."""
    with tempfile.TemporaryDirectory(prefix="emorl_model_") as tmp:
        manifest = unpack_model(path, tmp)
        try:
            return KINDS[manifest["kind"]].load(Path(tmp), **options)
        except RecognizerError as e:  # name the archive, not the temporary dir
            raise RecognizerError(str(e).replace(tmp, str(path))) from None
