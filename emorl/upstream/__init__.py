"""Upstream encoders: a registry from a short name to a feature extractor.

    fbank             Kaldi log mel filterbank (torchaudio), 100 frames/s
    egemaps           openSMILE eGeMAPSv02 functionals (or low-level descriptors)
    whisper_<size>    openai-whisper encoder (tiny.en, base, ..., large-v3), all layers, 50 frames/s
    <s3prl name>      wavlm_base_plus, wavlm_large, hubert_base, ... from a local checkpoint
    hf:<dir>          any transformers audio encoder saved in <dir>, all hidden states

``get_upstream(name, path=None, device="cpu", **options)`` builds one; every upstream follows
:class:`emorl.upstream.base.Upstream`. ``options()`` says what each name means;
``OPTIONS`` lists the upstream-specific options (also options of ``emorl.bin.extract``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emorl.cli import str2bool
from emorl.upstream.base import Upstream, UpstreamError

__all__ = ["OPTIONS", "Upstream", "UpstreamError", "get_upstream", "options", "upstream_names"]


@dataclass(frozen=True)
class Option:
    """An upstream-specific option: its name (as in yaml and on the command line), the family it
    belongs to, the constructor keyword it sets, its type and its help."""

    name: str
    family: str
    keyword: str
    type: Callable[[str], Any]
    help: str


OPTIONS = (
    Option("fbank_num_mel_bins", "fbank", "num_mel_bins", int, "fbank: mel bins (default 80)"),
    Option(
        "fbank_cmvn",
        "fbank",
        "cmvn",
        str2bool,
        "fbank: utterance mean and variance normalisation (default false)",
    ),
    Option(
        "egemaps_level",
        "egemaps",
        "level",
        str,
        "egemaps: functionals (88 per utterance, default) or lld (25 per 10 ms)",
    ),
    Option(
        "whisper_pad30",
        "whisper",
        "pad30",
        str2bool,
        "whisper: pad each window to 30 s as openai-whisper does (default false: the true length)",
    ),
)

# family -> (module, class); modules (and torch, whisper, ...) are imported only when used.
_FAMILIES = {
    "fbank": ("emorl.upstream.fbank", "FbankUpstream"),
    "egemaps": ("emorl.upstream.egemaps", "EgemapsUpstream"),
    "whisper": ("emorl.upstream.whisper", "WhisperUpstream"),
    "s3prl": ("emorl.upstream.s3prl_hub", "S3prlUpstream"),
    "hf": ("emorl.upstream.hf", "HFUpstream"),
}
_NEEDS_DEVICE = ("whisper", "s3prl", "hf")


def _whisper_sizes() -> list[str]:
    return importlib.import_module("emorl.upstream.whisper").sizes()


def _s3prl_models() -> dict[str, tuple[str, str, str]]:
    return importlib.import_module("emorl.upstream.s3prl_hub").MODELS


def options() -> dict[str, str]:
    """Every upstream name and what it means."""
    out = {
        "fbank": "Kaldi-compatible log mel filterbank (torchaudio), 1 layer, 100 frames/s; "
        "options fbank_num_mel_bins, fbank_cmvn",
        "egemaps": "openSMILE eGeMAPSv02: 88 functionals per utterance, or 25 LLDs per 10 ms "
        "(egemaps_level lld)",
    }
    for size in _whisper_sizes():
        out[f"whisper_{size}"] = (
            f"openai-whisper {size} encoder, all layers, 50 frames/s, true-length or 30-s padded "
            f"(whisper_pad30); checkpoint: --upstream_path, tools/models/whisper/{size}.pt "
            "or the whisper cache"
        )
    for name, (family, file_name, _) in _s3prl_models().items():
        out[name] = (
            f"s3prl {family} ({file_name}), all layers, 50 frames/s; "
            f"checkpoint: --upstream_path or tools/models/s3prl/{file_name}"
        )
    out["hf:<dir>"] = (
        "any transformers audio encoder (WavLM, HuBERT, wav2vec2, data2vec, Whisper) saved in "
        "<dir> with its feature extractor; all hidden states"
    )
    return out


def upstream_names() -> list[str]:
    """The valid names (``hf:<dir>`` stands for any local transformers directory)."""
    return list(options())


def family_of(name: str) -> str:
    """The family that implements an upstream name; unknown names list the valid ones."""
    if name in ("fbank", "egemaps"):
        return name
    if name.startswith("whisper_") and name[len("whisper_") :] in _whisper_sizes():
        return "whisper"
    if name.startswith("hf:") and len(name) > 3:
        return "hf"
    if name in _s3prl_models():
        return "s3prl"
    raise UpstreamError(f"unknown upstream {name!r}; valid names: {', '.join(upstream_names())}")


def get_upstream(name: str, path: str | None = None, device: str = "cpu", **opts) -> Upstream:
    """Build the upstream ``name`` (checkpoint at ``path`` if it needs one) with its ``OPTIONS``."""
    family = family_of(name)
    by_name = {o.name: o for o in OPTIONS}
    unknown = sorted(k for k in opts if k not in by_name)
    if unknown:
        raise UpstreamError(f"unknown upstream options {unknown}; known: {sorted(by_name)}")
    foreign = sorted(k for k in opts if by_name[k].family != family)
    if foreign:
        raise UpstreamError(f"options {foreign} do not apply to upstream {name}")
    kwargs = {by_name[k].keyword: v for k, v in opts.items()}
    if family in _NEEDS_DEVICE:
        kwargs["device"] = device
    module, cls = _FAMILIES[family]
    return getattr(importlib.import_module(module), cls)(name, path=path, **kwargs)
