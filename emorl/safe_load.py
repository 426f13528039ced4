"""Loading PyTorch files without running code: ``torch.load(weights_only=True)`` only.

Every loader of emorl (models, training checkpoints, upstream checkpoints given by
``--upstream_path``) goes through :func:`load_checkpoint_file`, whose errors name the file and
say what it is not, and never advise ``weights_only=False``: a pickle can run any code when it is
loaded, and a checkpoint in an experiment dir or a downloaded model is not to be trusted.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch

ZIP_MAGIC = b"PK\x03\x04"
PICKLE_PROTO = b"\x80"


class CheckpointError(ValueError):
    """A file that cannot be loaded as a checkpoint (named in the message)."""


def load_checkpoint_file(
    path: str | os.PathLike, what: str = "checkpoint", map_location: Any = "cpu"
) -> Any:
    """``torch.load(path, weights_only=True)``, with errors that name the file.

    ``what`` says what the file should be (``"SER model"``, ``"Whisper checkpoint"``). A file
    holding pickled objects other than tensors and plain containers is refused (unpickling them
    could run code); an empty, truncated or non-PyTorch file is reported as not being a ``what``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected a {what})")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise CheckpointError(f"{path}: not a PyTorch {what} (the file is empty)")
    # torch.save writes a zip archive; files of torch < 1.6 and plain pickles start with PROTO.
    if head != ZIP_MAGIC and head[:1] != PICKLE_PROTO:
        raise CheckpointError(
            f"{path}: not a PyTorch {what} (neither a zip archive nor a pickle: starts with "
            f"{head!r})"
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        message = str(e)
        if "Weights only load failed" not in message:
            raise CheckpointError(f"{path}: not a PyTorch {what} ({_first_line(message)})") from e
        # torch's own message advises weights_only=False, which would run the file's code.
        culprit = re.search(
            r"Unsupported (global: GLOBAL [\w.]+|operand \d+|class [\w.]+)", message
        )
        raise CheckpointError(
            f"{path}: refused to load this {what}: it contains code objects or other Python "
            "objects besides tensors and plain containers, which could run code when loaded"
            + (f" ({culprit.group(0)})" if culprit else "")
        ) from None
    except EOFError:
        raise CheckpointError(f"{path}: not a PyTorch {what} (truncated)") from None
    except (RuntimeError, KeyError, ValueError, IndexError, TypeError) as e:
        # what torch's zip reader and weights-only unpickler raise on a damaged file
        raise CheckpointError(
            f"{path}: not a PyTorch {what}, or a damaged one ({type(e).__name__}: "
            f"{_first_line(str(e))})"
        ) from e


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else ""
    return "" if "weights_only" in line else line
