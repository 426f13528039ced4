"""Training checkpoints: safe loading, keep-last-k, and resume only into the same run.

A checkpoint is two files in ``<exp_dir>/checkpoints/``: ``<name>.pt`` with the tensors (state
dicts of the model, optimiser, scheduler, torch RNG), loaded with ``torch.load(weights_only=True)``
only, and ``<name>.json`` beside it with everything else (options, input fingerprint, epoch, step,
python and numpy RNG state, the caller's own numbers). The json is written last: a checkpoint
without it is incomplete and ignored. Names are ``epochNNN`` or ``stepNNNNNNNN``.

A run resumes from its last checkpoint only when that checkpoint was made with the same options and
the same inputs (``fingerprint``: hashes of the data and of the initial model); otherwise the keys
that differ are logged and the run starts afresh. A model with peft adapters has only its adapter
weights saved and restored (peft's ``get_peft_model_state_dict``/``set_peft_model_state_dict``).
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emorl.atomic import atomic_write
from emorl.safe_load import CheckpointError, load_checkpoint_file

RNG_TORCH = "rng/torch"
RNG_CUDA = "rng/cuda"


def _plain(value: Any) -> Any:
    """``value`` as it reads back from json (tuples become lists, paths strings)."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _is_peft(model: Any) -> bool:
    return hasattr(model, "peft_config") and hasattr(model, "base_model")


def _unwrap(obj: Any) -> Any:
    """The model inside DistributedDataParallel."""
    return obj.module if isinstance(obj, torch.nn.parallel.DistributedDataParallel) else obj


def state_of(obj: Any) -> Any:
    """What a checkpoint stores of ``obj``: adapter weights of a peft model, the ``state_dict()``
    of anything that has one, else ``obj`` itself (a tensor, a dict of tensors, None)."""
    obj = _unwrap(obj)
    if _is_peft(obj):
        from peft import get_peft_model_state_dict

        return get_peft_model_state_dict(obj)
    if hasattr(obj, "state_dict"):
        return obj.state_dict()
    return obj


def differences(stored: dict, current: dict) -> list[str]:
    """``key: stored -> current`` for every key whose value differs (missing counts as None)."""
    stored, current = _plain(stored or {}), _plain(current or {})
    return [
        f"{key}: {stored.get(key)!r} -> {current.get(key)!r}"
        for key in sorted(set(stored) | set(current))
        if stored.get(key) != current.get(key)
    ]


@dataclass
class Checkpoint:
    """A loaded checkpoint: ``tensors`` (from the .pt file) and ``meta`` (from the json)."""

    path: Path
    tensors: dict[str, Any]
    meta: dict

    @property
    def epoch(self) -> int | None:
        return self.meta.get("epoch")

    @property
    def step(self) -> int | None:
        return self.meta.get("step")

    def restore(self, objects: dict[str, Any], rng: bool = True) -> None:
        """Load the saved state into ``objects`` (the same names as given to ``save``) and, with
        ``rng``, the python, numpy and torch random generators."""
        for name, obj in objects.items():
            if name not in self.tensors:
                raise CheckpointError(f"{self.path}: has no {name!r} (has {sorted(self.tensors)})")
            obj = _unwrap(obj)
            if _is_peft(obj):
                from peft import set_peft_model_state_dict

                set_peft_model_state_dict(obj, self.tensors[name])
            else:
                obj.load_state_dict(self.tensors[name])
        if rng:
            state = self.meta["rng"]
            random.setstate((state["python"][0], tuple(state["python"][1]), state["python"][2]))
            kind, keys, pos, has_gauss, gauss = state["numpy"]
            np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
            torch.set_rng_state(self.tensors[RNG_TORCH])
            if RNG_CUDA in self.tensors and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(self.tensors[RNG_CUDA])


class CheckpointManager:
    """Checkpoints of one run in ``<exp_dir>/checkpoints/``, the last ``keep_last`` kept.

    ``options``: the settings that define the run (a changed learning rate is another run);
    ``fingerprint``: what identifies its inputs (hashes of the data, of the initial model). Both
    are json-able dicts; a checkpoint resumes only a run with equal ones.
    """

    def __init__(
        self,
        exp_dir: str | os.PathLike,
        options: dict,
        fingerprint: dict | None = None,
        keep_last: int = 2,
    ):
        self.dir = Path(exp_dir) / "checkpoints"
        self.options = _plain(options)
        self.fingerprint = _plain(fingerprint or {})
        self.keep_last = max(int(keep_last), 1)

    def _metas(self) -> list[tuple[int, Path]]:
        found = []
        for meta_path in self.dir.glob("*.json"):
            try:
                serial = json.loads(meta_path.read_text())["serial"]
            except (json.JSONDecodeError, KeyError) as e:
                raise CheckpointError(f"{meta_path}: not a checkpoint description ({e})") from None
            found.append((serial, meta_path.with_suffix(".pt")))
        return sorted(found)

    def paths(self) -> list[Path]:
        """The complete checkpoints (their .pt files), oldest first."""
        return [path for _, path in self._metas()]

    @staticmethod
    def name_of(*, epoch: int | None = None, step: int | None = None) -> str:
        """The name of the checkpoint of ``epoch`` (``epochNNN``) or else ``step``."""
        if epoch is None and step is None:
            raise ValueError("a checkpoint needs an epoch or a step")
        return f"epoch{epoch:03d}" if epoch is not None else f"step{step:08d}"

    def save(
        self,
        objects: dict[str, Any],
        *,
        epoch: int | None = None,
        step: int | None = None,
        meta: dict | None = None,
    ) -> Path:
        """Write a checkpoint of ``objects`` (name -> module, optimiser, scheduler, tensor or
        dict of tensors) named after ``epoch`` (``epochNNN``) or else ``step``; ``meta`` is any
        json-able dict, given back as ``Checkpoint.meta["meta"]``. Older checkpoints beyond
        ``keep_last`` are removed. Returns the .pt path."""
        name = self.name_of(epoch=epoch, step=step)
        metas = self._metas()
        tensors = {key: state_of(obj) for key, obj in objects.items()}
        tensors[RNG_TORCH] = torch.get_rng_state()
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            tensors[RNG_CUDA] = torch.cuda.get_rng_state_all()
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        description = {
            "serial": (metas[-1][0] + 1) if metas else 1,
            "epoch": epoch,
            "step": step,
            "options": self.options,
            "fingerprint": self.fingerprint,
            "rng": {
                "python": random.getstate(),
                "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
            },
            "meta": _plain(meta or {}),
        }
        pt = self.dir / f"{name}.pt"
        with atomic_write(pt, "wb") as f:
            torch.save(tensors, f)
        with atomic_write(pt.with_suffix(".json")) as f:
            json.dump(_plain(description), f)
        for old in self.paths()[: -self.keep_last]:
            old.with_suffix(".json").unlink()  # first: without its json a checkpoint is not one
            old.unlink(missing_ok=True)
        return pt

    def load_latest(self, map_location: Any = "cpu") -> Checkpoint | None:
        """The last checkpoint if it was made with the same options and fingerprint; else None,
        logging why (no checkpoint, or exactly which keys differ)."""
        paths = self.paths()
        if not paths:
            logging.info("no checkpoint in %s: starting from scratch", self.dir)
            return None
        path = paths[-1]
        meta = json.loads(path.with_suffix(".json").read_text())
        for kind, current in (("options", self.options), ("inputs", self.fingerprint)):
            changed = differences(meta["options" if kind == "options" else "fingerprint"], current)
            if changed:
                logging.warning(
                    "%s was made with other %s (%s): starting afresh",
                    path,
                    kind,
                    "; ".join(changed),
                )
                return None
        tensors = load_checkpoint_file(path, "training checkpoint", map_location)
        where = ", ".join(f"{k} {meta[k]}" for k in ("epoch", "step") if meta[k] is not None)
        logging.info("resuming from %s (%s done)", path, where)
        return Checkpoint(path, tensors, meta)

    def clear(self) -> None:
        """Remove every checkpoint of the run."""
        if self.dir.exists():
            logging.info("starting afresh: removing %s", self.dir)
            shutil.rmtree(self.dir)

    def resume(self, enabled: bool = True, clear: bool = True) -> Checkpoint | None:
        """The checkpoint to continue from (``load_latest``), or None after removing the run's
        checkpoints (with ``clear``; leave it to the main process in a distributed job)."""
        checkpoint = self.load_latest() if enabled else None
        if checkpoint is None and clear:
            self.clear()
        return checkpoint
