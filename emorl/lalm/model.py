"""One interface over ``Qwen2AudioForConditionalGeneration`` for SFT, GRPO and decoding.

Kinds: ``mini`` (Whisper tiny.en tower + a small Qwen2 trained from scratch, own BPE tokenizer),
``mini_smollm2`` (the same tower + SmolLM2-135M-Instruct) -- both built by :mod:`emorl.lalm.build`
-- and ``real`` (Qwen2-Audio-7B-Instruct or any checkpoint of that architecture, from a local
directory with its processor). Build with :meth:`AudioLM.build_mini` /
:meth:`AudioLM.build_mini_smollm2`; load any kind with :meth:`AudioLM.load`; :meth:`AudioLM.save`
writes a self-describing directory::

    config.json, model.safetensors    the full model (HF format; absent with an adapter and a base)
    tokenizer.json, tokenizer_config.json, preprocessor_config.json
    emorl_lalm.json                   {"kind", "options", "dtype", "lora", "base"}
    adapter/                          peft LoRA adapter (adapter_model.safetensors), with LoRA only

With LoRA the adapter is saved alone when the base model came from a directory (``base`` names it);
a base built in memory is saved beside the adapter under ``base/``.

Data flow (row order: the ``group_size`` rows of a prompt are consecutive, row ``r`` belongs to
prompt ``r // group_size``)::

    lm = AudioLM.build_mini(texts)                        # or AudioLM.load(model_dir)
    prompts = [lm.prepare(utt, wave, "Which emotion?") for utt, wave in batch]  # 16 kHz waves
    # SFT: targets end with EOS; the loss is the masked mean of -log p
    ids, mask = lm.completion_ids(["<answer>angry</answer>", ...])
    lm.train()
    loss = -(lm.logprobs(prompts, ids, mask) * mask).sum() / mask.sum()
    optimizer = torch.optim.AdamW(lm.parameters())      # the trainable parameters only
    # GRPO: G completions per prompt from audio encoded once per clip
    with torch.no_grad():
        audio = lm.encode_audio(prompts)
    out = lm.generate(prompts, group_size=G, audio=audio, max_new_tokens=64, temperature=1.0,
                      top_p=1.0)                         # out.ids, out.mask [N, T], out.texts
    logp = lm.logprobs(prompts, out.ids, out.mask, group_size=G)  # re-encodes with gradients
    with lm.reference(), torch.no_grad():                 # LoRA: adapter off; else frozen copy
        ref = lm.logprobs(prompts, out.ids, out.mask, group_size=G)  # its own projector

Options: ``enable_lora(r, alpha, dropout, target_modules, train_projector)`` (peft, text model
only), ``gradient_checkpointing(True)``, ``dtype`` (``float32``/``bfloat16``) when building or
loading, ``long_audio`` (``split``/``truncate``/``error``), ``freeze_reference()`` for the KL
reference of a model trained without LoRA, ``merge_lora()`` to fold an SFT adapter into the
weights before GRPO's own adapter (its reference is then the SFT model), ``freeze_audio_tower()``,
``to(device)``, ``train()``/``eval()``, ``parameters()`` (the trainable ones).

The prompt follows Qwen2-Audio-Instruct's chat template: ``<|im_start|>system ...<|im_end|>``,
then the user turn ``Audio 1: <|audio_bos|><|AUDIO|>*n<|audio_eos|>\\n{text}``, then
``<|im_start|>assistant\\n``. A completion ends with ``<|im_end|>`` (EOS), which is part of it and
of its mask; what follows EOS is padding, masked. Audio is encoded at its true length
(:mod:`emorl.lalm.audio`); clips over 30 s are split, truncated or refused (``long_audio``).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoTokenizer,
    Qwen2AudioForConditionalGeneration,
    WhisperFeatureExtractor,
)
from transformers.generation.logits_process import TemperatureLogitsWarper, TopPLogitsWarper

from emorl.atomic import atomic_dir, atomic_write
from emorl.lalm import audio as audio_lib
from emorl.lalm import build
from emorl.lalm.errors import LalmError

KINDS = ("mini", "mini_smollm2", "real")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
DEFAULT_SYSTEM = build.DEFAULT_SYSTEM
META = "emorl_lalm.json"
ADAPTER = "adapter"
# Files a Qwen2-Audio directory needs besides its weights.
REQUIRED = ("config.json", "tokenizer_config.json", "preprocessor_config.json")


@dataclass
class Prompt:
    """One utterance ready for the model: its audio windows and its chat prompt token ids."""

    utt: str
    windows: list[audio_lib.AudioWindow]
    input_ids: list[int]

    @property
    def num_audio_tokens(self) -> int:
        return sum(w.num_tokens for w in self.windows)


@dataclass
class Generation:
    """Sampled completions: ``ids`` [N, T] (padding after EOS is ``pad_id``), ``mask`` [N, T]
    (1 up to and including EOS), ``texts`` decoded without special tokens, ``finished`` [N]
    (EOS reached within ``max_new_tokens``)."""

    ids: torch.Tensor
    mask: torch.Tensor
    texts: list[str]
    finished: torch.Tensor


def check_model_dir(path: str | os.PathLike) -> dict:
    """The config of a Qwen2-Audio directory; stop with what was found when it is another kind."""
    path = Path(path)
    if not path.is_dir():
        raise LalmError(f"{path}: model directory does not exist")
    missing = [f for f in REQUIRED if not (path / f).is_file()]
    config = {}
    if (path / "config.json").is_file():
        config = json.loads((path / "config.json").read_text())
    if not list(path.glob("*.safetensors")):
        missing.append("*.safetensors")
    model_type = config.get("model_type")
    if model_type != "qwen2_audio" or missing:
        raise LalmError(
            f"{path}: not a Qwen2-Audio model directory: model_type {model_type!r}"
            + (f", missing {', '.join(missing)}" if missing else "")
        )
    return config


def _repeat(times: int, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(t.repeat_interleave(times, 0) for t in tensors)


class AudioLM:
    """A Qwen2-Audio-architecture model with its tokenizer and log-mel extractor (see module doc).

    ``long_audio``: what to do with utterances over 30 s (``split``, ``truncate``, ``error``)."""

    def __init__(
        self,
        model: Qwen2AudioForConditionalGeneration,
        tokenizer,
        extractor: WhisperFeatureExtractor,
        kind: str,
        options: dict | None = None,
        long_audio: str = "error",
        source_dir: str | os.PathLike | None = None,
    ):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if long_audio not in audio_lib.LONG_AUDIO:
            raise ValueError(f"long_audio must be one of {audio_lib.LONG_AUDIO}: {long_audio!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.extractor = extractor
        self.kind = kind
        self.options = dict(options or {})
        self.long_audio = long_audio
        self.source_dir = None if source_dir is None else str(Path(source_dir).resolve())
        self.peft = None  # the PeftModel once LoRA is on
        self.lora: dict | None = None
        self._frozen = None  # frozen copy for reference log-probs without LoRA
        self.audio_token_id = tokenizer.convert_tokens_to_ids(build.AUDIO)
        self.eos_id = tokenizer.convert_tokens_to_ids(build.IM_END)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id
        text_config = model.config.text_config
        self.max_positions = text_config.max_position_embeddings
        if model.config.audio_token_index != self.audio_token_id:
            raise LalmError(
                f"config audio_token_index {model.config.audio_token_index} is not the "
                f"tokenizer's {build.AUDIO} id {self.audio_token_id}"
            )

    # ---------------------------------------------------------------- building and loading
    @classmethod
    def build_mini(
        cls, texts: list[str], dtype: str = "float32", long_audio: str = "error", **options
    ) -> AudioLM:
        """The ``mini`` kind; ``options``: whisper_checkpoint, vocab_size, seed, text sizes."""
        model, tokenizer, extractor = build.build_mini(texts, **options)
        options = {k: str(v) if isinstance(v, Path) else v for k, v in options.items()}
        return cls(model.to(DTYPES[dtype]), tokenizer, extractor, "mini", options, long_audio)

    @classmethod
    def build_mini_smollm2(
        cls, dtype: str = "float32", long_audio: str = "error", **options
    ) -> AudioLM:
        """The ``mini_smollm2`` kind; ``options``: smollm2_dir, whisper_checkpoint, seed."""
        model, tokenizer, extractor = build.build_mini_smollm2(**options)
        options = {k: str(v) if isinstance(v, Path) else v for k, v in options.items()}
        model = model.to(DTYPES[dtype])
        return cls(model, tokenizer, extractor, "mini_smollm2", options, long_audio)

    @classmethod
    def load(
        cls, path: str | os.PathLike, dtype: str | None = None, long_audio: str | None = None
    ) -> AudioLM:
        """Any kind from a directory: one written by :meth:`save`, or a Qwen2-Audio checkpoint
        with its processor (kind ``real``). ``dtype``/``long_audio`` default to the saved ones."""
        path = Path(path)
        meta = json.loads((path / META).read_text()) if (path / META).is_file() else {}
        dtype = dtype or meta.get("dtype") or "bfloat16"
        long_audio = long_audio or meta.get("long_audio") or "error"
        if meta.get("base"):
            base = Path(meta["base"])
            base = base if base.is_absolute() else path / base
            lm = cls.load(base, dtype=dtype, long_audio=long_audio)
        else:
            check_model_dir(path)
            model = Qwen2AudioForConditionalGeneration.from_pretrained(path, dtype=DTYPES[dtype])
            lm = cls(
                model,
                AutoTokenizer.from_pretrained(path),
                WhisperFeatureExtractor.from_pretrained(path),
                meta.get("kind", "real"),
                meta.get("options"),
                long_audio,
                source_dir=path,
            )
        if meta.get("lora"):
            from peft import PeftModel

            lm.peft = PeftModel.from_pretrained(lm.model, path / ADAPTER, is_trainable=True)
            lm.lora = meta["lora"]
        return lm

    def save(self, path: str | os.PathLike) -> None:
        """Write a self-describing directory (see the module docstring); atomic."""
        path = Path(path)
        with atomic_dir(path) as tmp:
            meta = {
                "kind": self.kind,
                "options": self.options,
                "dtype": self.dtype_name,
                "long_audio": self.long_audio,
                "lora": self.lora,
                "base": None,
            }
            if self.peft is None:
                self._save_full(tmp)
            else:
                if self.source_dir is not None:
                    meta["base"] = self.source_dir
                else:
                    self._save_full(tmp / "base", kind_meta=True)
                    meta["base"] = "base"
                self.peft.save_pretrained(tmp / ADAPTER)
            with atomic_write(tmp / META) as f:
                json.dump(meta, f, indent=2)

    def _save_full(self, path: Path, kind_meta: bool = False) -> None:
        model = self.peft.get_base_model() if self.peft is not None else self.model
        if self.peft is not None:
            # the base weights without the LoRA layers: peft keeps them under base_layer
            state = {k: v for k, v in model.state_dict().items() if "lora_" not in k}
            state = {k.replace(".base_layer", ""): v for k, v in state.items()}
            state = {k: v for k, v in state.items() if ".modules_to_save." not in k}
            state = {k.replace(".original_module", ""): v for k, v in state.items()}
            fresh = Qwen2AudioForConditionalGeneration(model.config).to(self.model.dtype)
            fresh.load_state_dict(state)
            model = fresh
        model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        self.extractor.save_pretrained(path)
        if kind_meta:
            meta = {"kind": self.kind, "options": self.options, "dtype": self.dtype_name}
            with atomic_write(path / META) as f:
                json.dump(meta, f, indent=2)

    def to(self, device: str | torch.device) -> AudioLM:
        """Move the model (and a frozen reference copy) to ``device``; returns self."""
        self.model.to(device)
        if self._frozen is not None:
            self._frozen.to(device)
        return self

    def train(self, mode: bool = True) -> AudioLM:
        """Training mode (dropout on) for the model; returns self."""
        (self.peft or self.model).train(mode)
        return self

    def eval(self) -> AudioLM:
        return self.train(False)

    def parameters(self):
        """The parameters to optimise (those with ``requires_grad``)."""
        return [p for p in self.model.parameters() if p.requires_grad]

    @property
    def dtype_name(self) -> str:
        return {v: k for k, v in DTYPES.items()}[self.model.dtype]

    @property
    def device(self) -> torch.device:
        return self.model.lm_head.weight.device

    def num_parameters(self, trainable_only: bool = False) -> int:
        params = self.model.parameters()
        return sum(p.numel() for p in params if p.requires_grad or not trainable_only)

    # ---------------------------------------------------------------- training options
    def enable_lora(
        self,
        r: int = 8,
        alpha: int = 16,
        dropout: float = 0.0,
        target_modules: Sequence[str] = ("q_proj", "v_proj"),
        train_projector: bool = True,
    ) -> None:
        """LoRA on the text model's ``target_modules`` (the audio tower is left alone); the
        projector is trained in full when ``train_projector`` (saved with the adapter)."""
        from peft import LoraConfig, get_peft_model

        names = "|".join(target_modules)
        self.lora = {
            "r": r,
            "alpha": alpha,
            "dropout": dropout,
            "target_modules": list(target_modules),
            "train_projector": train_projector,
        }
        config = LoraConfig(
            r=r,
            lora_alpha=alpha,
            lora_dropout=dropout,
            target_modules=rf".*language_model.*\.({names})",
            modules_to_save=["multi_modal_projector"] if train_projector else None,
        )
        self.peft = get_peft_model(self.model, config)

    def merge_lora(self) -> None:
        """Fold the LoRA adapter (and the trained projector) into the weights and drop LoRA.

        For GRPO after a LoRA SFT: merge, then :meth:`enable_lora` again, so that the reference
        (adapter off) is the SFT model. The merged model is saved in full (no base dir)."""
        if self.peft is None:
            raise LalmError("merge_lora: LoRA is not enabled")
        self.model = self.peft.merge_and_unload()
        self.peft, self.lora, self.source_dir = None, None, None

    def freeze_audio_tower(self) -> None:
        """Train no audio encoder weight (the projector still trains); its backward is skipped."""
        self.model.model.audio_tower.requires_grad_(False)

    def gradient_checkpointing(self, enable: bool = True) -> None:
        """Recompute activations in the backward pass (text layers and audio layers)."""
        if enable:
            self.model.activation_checkpointing_enable({"use_reentrant": False})
        else:
            self.model.activation_checkpointing_disable()

    def sharded_parts(self) -> dict[str, torch.nn.Module]:
        """What DeepSpeed ZeRO-3 shards (:mod:`emorl.train.zero`): the projector, the text model
        (its LoRA adapters included) and the head; the frozen audio tower stays replicated."""
        inner = self.model.model
        return {
            "projector": inner.multi_modal_projector,
            "text": inner.language_model,
            "head": self.model.lm_head,
        }

    def freeze_reference(self) -> None:
        """Without LoRA, keep a frozen copy of the current weights for :meth:`reference`."""
        self._frozen = copy.deepcopy(self.model).eval().requires_grad_(False)

    @contextlib.contextmanager
    def reference(self) -> Iterator[AudioLM]:
        """Inside the block, this object computes with the reference model for the KL term:
        with LoRA the adapter-disabled model (no second copy), else the copy made by
        :meth:`freeze_reference`."""
        if self.peft is not None:
            with self.peft.disable_adapter():
                yield self
            return
        if self._frozen is None:
            raise LalmError("no reference model: enable LoRA or call freeze_reference() first")
        model = self.model
        self.model = self._frozen
        try:
            yield self
        finally:
            self.model = model

    # ---------------------------------------------------------------- prompts
    def chat_prompt(self, text: str, system: str | None = DEFAULT_SYSTEM) -> str:
        """The chat prompt text with one ``<|AUDIO|>`` placeholder (expanded in the ids)."""
        head = f"{build.IM_START}system\n{system}{build.IM_END}\n" if system else ""
        audio = f"{build.AUDIO_BOS}{build.AUDIO}{build.AUDIO_EOS}"
        return (
            f"{head}{build.IM_START}user\nAudio 1: {audio}\n{text}{build.IM_END}\n"
            f"{build.IM_START}assistant\n"
        )

    def prepare(
        self, utt: str, wave: np.ndarray, text: str, system: str | None = DEFAULT_SYSTEM
    ) -> Prompt:
        """Log-mel windows (``long_audio`` applies) and prompt ids of one utterance (16 kHz)."""
        windows = audio_lib.clip_windows(self.extractor, wave, utt, self.long_audio)
        ids = self.tokenizer(self.chat_prompt(text, system), add_special_tokens=False).input_ids
        if ids.count(self.audio_token_id) != 1:
            raise LalmError(f"{utt}: the prompt text must not contain {build.AUDIO}")
        at = ids.index(self.audio_token_id)
        n = sum(w.num_tokens for w in windows)
        ids = ids[:at] + [self.audio_token_id] * n + ids[at + 1 :]
        if len(ids) >= self.max_positions:
            raise LalmError(
                f"{utt}: prompt of {len(ids)} tokens ({n} audio) does not fit the model's context "
                f"of {self.max_positions}"
            )
        return Prompt(utt=utt, windows=windows, input_ids=ids)

    def completion_ids(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Target completions as ``(ids [N, T], mask [N, T])``, each ending with EOS."""
        encode = self.tokenizer(list(texts), add_special_tokens=False).input_ids
        rows = [r + [self.eos_id] for r in encode]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        return ids, mask

    # ---------------------------------------------------------------- forward passes
    def encode_audio(self, prompts: Sequence[Prompt]) -> list[torch.Tensor]:
        """Audio tokens ``[num_audio_tokens, hidden]`` per prompt: one batched encoder pass over
        all their windows (long utterances' windows concatenated). Gradients flow when enabled."""
        windows = [w for p in prompts for w in p.windows]
        inner = self.model.model
        pieces = audio_lib.encode(inner.audio_tower, inner.multi_modal_projector, windows)
        out, i = [], 0
        for p in prompts:
            out.append(torch.cat(pieces[i : i + len(p.windows)]))
            i += len(p.windows)
        return out

    def _prompt_embeds(self, prompts: Sequence[Prompt], audio: Sequence[torch.Tensor]):
        """Left-padded prompt embeddings with the audio merged in, attention mask, positions."""
        width = max(len(p.input_ids) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attn = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            if audio[i].shape[0] != p.num_audio_tokens:
                raise LalmError(
                    f"{p.utt}: {audio[i].shape[0]} audio embeddings for {p.num_audio_tokens} tokens"
                )
            ids[i, width - len(p.input_ids) :] = torch.tensor(p.input_ids)
            attn[i, width - len(p.input_ids) :] = 1
        ids, attn = ids.to(self.device), attn.to(self.device)
        embeds = self._embed(ids)
        where = (ids == self.audio_token_id)[..., None]
        embeds = embeds.masked_scatter(where, torch.cat(list(audio)).to(embeds.dtype))
        positions = (attn.cumsum(-1) - 1).clamp(min=0)
        return embeds, attn, positions

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.get_input_embeddings()(ids)

    def _text(self, embeds, attn, positions, cache=None):
        out = self.model.model.language_model(
            inputs_embeds=embeds,
            attention_mask=attn,
            position_ids=positions,
            cache=cache,
            use_cache=cache is not None,
        )
        return out.last_hidden_state, out.cache

    def _check_context(self, prompts: Sequence[Prompt], new_tokens: int) -> None:
        for p in prompts:
            if len(p.input_ids) + new_tokens > self.max_positions:
                raise LalmError(
                    f"{p.utt}: prompt of {len(p.input_ids)} tokens + {new_tokens} completion "
                    f"tokens exceeds the model's context of {self.max_positions}"
                )

    def logprobs(
        self,
        prompts: Sequence[Prompt],
        completions: torch.Tensor,
        mask: torch.Tensor,
        group_size: int = 1,
        audio: Sequence[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Log-probabilities ``[N, T]`` (float32, 0 where ``mask`` is 0) of the completion tokens
        given each prompt, ``N = len(prompts) * group_size``. ``audio`` (from
        :meth:`encode_audio`) is computed here, with gradients, when not given.

        With ``group_size > 1`` the prompt (audio included) runs once per prompt and its KV cache
        is repeated for the group, as in :meth:`generate`; gradients flow through the shared
        prompt. Under gradient checkpointing in training mode (where the text layers drop the
        cache) each row runs its own copy of the prompt instead."""
        n, width = completions.shape
        if n != len(prompts) * group_size:
            raise ValueError(f"{n} completions for {len(prompts)} prompts x {group_size}")
        self._check_context(prompts, width)
        if audio is None:
            audio = self.encode_audio(prompts)
        embeds, attn, positions = self._prompt_embeds(prompts, audio)
        completions, mask = completions.to(self.device), mask.to(self.device)
        steps = positions[:, -1:] + 1 + torch.arange(width, device=self.device)
        if group_size > 1 and not self._checkpointing_drops_cache():
            hidden, cache = self._text(embeds, attn, positions, cache=self._new_cache())
            cache.batch_repeat_interleave(group_size)
            first, attn, steps = _repeat(group_size, hidden[:, -1:], attn, steps)
            hidden = first  # the last prompt position predicts the first completion token
            if width > 1:
                rest, _ = self._text(
                    self._embed(completions[:, :-1]),
                    torch.cat([attn, mask[:, :-1].long()], 1),
                    steps[:, :-1],
                    cache,
                )
                hidden = torch.cat([first, rest], 1)
        else:
            if group_size > 1:
                embeds, attn, positions, steps = _repeat(group_size, embeds, attn, positions, steps)
            hidden, _ = self._text(
                torch.cat([embeds, self._embed(completions)], 1),
                torch.cat([attn, mask.long()], 1),
                torch.cat([positions, steps], 1),
            )
            start = embeds.shape[1] - 1  # the last prompt position predicts the first token
            hidden = hidden[:, start : start + width]
        logits = self.model.lm_head(hidden).float()
        logp = torch.log_softmax(logits, -1).gather(-1, completions[..., None]).squeeze(-1)
        return logp * mask

    def _checkpointing_drops_cache(self) -> bool:
        """Whether the text layers would drop a KV cache now (gradient checkpointing, training
        mode, gradients on)."""
        layer = self.model.model.language_model.layers[0]
        return bool(layer.gradient_checkpointing and layer.training and torch.is_grad_enabled())

    @torch.no_grad()
    def generate(
        self,
        prompts: Sequence[Prompt],
        group_size: int = 1,
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        top_p: float = 1.0,
        greedy: bool = False,
        audio: Sequence[torch.Tensor] | None = None,
        generator: torch.Generator | None = None,
        suppress_eos: bool = False,
        all_done: Callable[[bool], bool] | None = None,
    ) -> Generation:
        """Sample ``group_size`` completions per prompt in one batch with a KV cache; the prompt
        (audio included) is run once per prompt and its cache repeated for the group.
        ``suppress_eos`` never samples EOS (fixed-length timing runs). ``all_done(done)``: whether
        every process has finished (:meth:`emorl.train.Distributed.all_done`); given, the loop
        runs until then, as ZeRO-3 needs the same forward passes on every process."""
        self._check_context(prompts, max_new_tokens)
        if audio is None:
            audio = self.encode_audio(prompts)
        embeds, attn, positions = self._prompt_embeds(prompts, audio)
        hidden, cache = self._text(embeds, attn, positions, cache=self._new_cache())
        logits = self.model.lm_head(hidden[:, -1]).float()
        if group_size > 1:
            cache.batch_repeat_interleave(group_size)
            logits, attn, positions = _repeat(group_size, logits, attn, positions)
        warpers = [] if greedy else [TemperatureLogitsWarper(temperature)]
        if not greedy and top_p < 1.0:
            warpers.append(TopPLogitsWarper(top_p))
        n = logits.shape[0]
        tokens = []
        finished = torch.zeros(n, dtype=torch.bool, device=self.device)
        position = positions[:, -1]
        for step in range(max_new_tokens):
            if suppress_eos:
                logits[:, self.eos_id] = -float("inf")
            if greedy:
                token = logits.argmax(-1)
            else:
                scores = logits
                for warp in warpers:
                    scores = warp(None, scores)
                probs = torch.softmax(scores, -1)
                token = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
            token = torch.where(finished, torch.full_like(token, self.pad_id), token)
            tokens.append(token)
            finished |= token == self.eos_id
            done = bool(finished.all())
            if all_done is not None:
                done = all_done(done)
            if done or step == max_new_tokens - 1:
                break
            attn = torch.cat([attn, torch.ones_like(attn[:, :1])], 1)
            position = position + 1
            hidden, cache = self._text(self._embed(token[:, None]), attn, position[:, None], cache)
            logits = self.model.lm_head(hidden[:, -1]).float()
        ids = torch.stack(tokens, 1)
        # 1 up to and including the first EOS
        ended_before = (ids == self.eos_id).long().cumsum(1) - (ids == self.eos_id).long()
        mask = (ended_before == 0).long()
        texts = self.tokenizer.batch_decode(
            [row[m.bool()].tolist() for row, m in zip(ids, mask)], skip_special_tokens=True
        )
        return Generation(ids=ids, mask=mask, texts=texts, finished=finished)

    def _new_cache(self):
        from transformers import DynamicCache

        return DynamicCache(config=self.model.config.text_config)
