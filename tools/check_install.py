#!/usr/bin/env python3
"""Print every component emorl uses with its version and OK / missing / broken.

Exits 1 when a required component is missing or broken; optional ones only warn.

Usage:
    tools/venv/bin/python tools/check_install.py
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import io
import sys
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "models" / "whisper"

# (import name, distribution name, required)
PACKAGES = [
    ("torch", "torch", True),
    ("torchaudio", "torchaudio", True),
    ("whisper", "openai-whisper", True),
    ("s3prl.nn", "espnet-s3prl", True),
    ("espnet2", "espnet", True),
    ("transformers", "transformers", True),
    ("kaldiio", "kaldiio", True),
    ("sentencepiece", "sentencepiece", True),
    ("soundfile", "soundfile", True),
    ("sklearn", "scikit-learn", True),
    ("matplotlib", "matplotlib", True),
    ("yaml", "pyyaml", True),
    ("tqdm", "tqdm", True),
    ("espeakng_loader", "espeakng-loader", True),
    ("opensmile", "opensmile", False),
    ("peft", "peft", False),
    ("accelerate", "accelerate", False),
    ("deepspeed", "deepspeed", False),
    ("av", "av", False),
    ("ctranslate2", "ctranslate2", False),
]
CHECKPOINTS = [
    ("whisper tiny.en (offline)", MODEL_DIR / "tiny.en.pt", True),
    ("whisper base (offline)", MODEL_DIR / "base.pt", True),
]


def check_package(module: str, dist: str) -> tuple[str, str]:
    """Import ``module``; return (status, version or error)."""
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "missing", f"pip install {dist}"
    try:
        # Some imports (g2p_en via s3prl) print nltk download errors offline: keep them quiet.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            importlib.import_module(module)
    except Exception as e:  # any failure to import means the install is broken
        return "broken", f"{version}: {type(e).__name__}: {e}"
    return "OK", version


def check_checkpoint(path: Path) -> tuple[str, str]:
    """Load an openai-whisper checkpoint's header; return (status, detail)."""
    if not path.is_file():
        return "missing", f"{path} (run tools/prepare_whisper.py)"
    try:
        import torch

        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        dims = ckpt["dims"]
        return (
            "OK",
            f"{path.name}: {dims['n_audio_layer']} encoder layers, {dims['n_audio_state']} dims",
        )
    except Exception as e:  # unreadable or not a whisper checkpoint
        return "broken", f"{path}: {type(e).__name__}: {e}"


def main() -> int:
    rows = [(name, *check_package(name, dist), required) for name, dist, required in PACKAGES]
    rows += [(name, *check_checkpoint(path), required) for name, path, required in CHECKPOINTS]
    width = max(len(r[0]) for r in rows)
    failed = []
    for name, status, detail, required in rows:
        kind = "" if required else " (optional)"
        print(f"{name:<{width}}  {status:<7}  {detail}{kind}")
        if required and status != "OK":
            failed.append(name)
    if failed:
        print(f"check_install: required components not OK: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("check_install: all required components OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
