"""LoRA through peft: what trains, the adapter-disabled reference, adapter-only save and load."""

from __future__ import annotations

import json

import torch
from lalm_fixtures import synth_wave

from emorl.lalm.model import AudioLM


def batch(lm: AudioLM):
    prompts = [lm.prepare(f"u{i}", synth_wave(1.0 + i, seed=i), "Which emotion?") for i in range(2)]
    ids, mask = lm.completion_ids(["angry", "The speaker sounds calm."])
    return prompts, ids, mask


def perturb_adapter(lm: AudioLM) -> None:
    torch.manual_seed(1)
    with torch.no_grad():
        for name, param in lm.peft.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                param.add_(0.2 * torch.randn_like(param))


def logprobs(lm, prompts, ids, mask):
    with torch.no_grad():
        return lm.logprobs(prompts, ids, mask)


def test_lora_trains_adapters_and_projector_only(tiny_lm):
    tiny_lm.enable_lora(r=4, alpha=8, target_modules=("q_proj", "v_proj"))
    names = [n for n, p in tiny_lm.peft.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n or "multi_modal_projector" in n for n in names)
    assert any("multi_modal_projector" in n for n in names)
    assert not any("audio_tower" in n for n in names)  # the tower's q_proj/v_proj stay plain
    assert sum(p.numel() for p in tiny_lm.parameters()) == sum(
        p.numel() for n, p in tiny_lm.peft.named_parameters() if n in names
    )
    prompts, ids, mask = batch(tiny_lm)
    tiny_lm.train()
    (-tiny_lm.logprobs(prompts, ids, mask).sum()).backward()
    assert all(p.grad is not None for p in tiny_lm.parameters())


def test_reference_is_the_adapter_disabled_model(tiny_lm):
    prompts, ids, mask = batch(tiny_lm)
    base = logprobs(tiny_lm, prompts, ids, mask)
    tiny_lm.enable_lora(r=4)
    torch.testing.assert_close(logprobs(tiny_lm, prompts, ids, mask), base)  # B = 0 at start
    perturb_adapter(tiny_lm)
    policy = logprobs(tiny_lm, prompts, ids, mask)
    assert (policy - base).abs().max() > 1e-3
    with tiny_lm.reference():
        torch.testing.assert_close(logprobs(tiny_lm, prompts, ids, mask), base)
    torch.testing.assert_close(logprobs(tiny_lm, prompts, ids, mask), policy)  # adapter back on


def test_adapter_only_save_and_load(tiny_lm, tmp_path):
    prompts, ids, mask = batch(tiny_lm)
    base = logprobs(tiny_lm, prompts, ids, mask)
    tiny_lm.save(tmp_path / "init")  # the base, as a recipe's SFT stage starts from
    lm = AudioLM.load(tmp_path / "init")
    lm.enable_lora(r=4)
    perturb_adapter(lm)
    policy = logprobs(lm, prompts, ids, mask)
    lm.save(tmp_path / "sft")
    meta = json.loads((tmp_path / "sft" / "emorl_lalm.json").read_text())
    assert meta["base"] == str((tmp_path / "init").resolve()) and meta["lora"]["r"] == 4
    assert (tmp_path / "sft" / "adapter" / "adapter_model.safetensors").is_file()
    assert not (tmp_path / "sft" / "model.safetensors").exists()  # adapter only
    loaded = AudioLM.load(tmp_path / "sft").eval()
    assert loaded.kind == "mini" and loaded.lora == meta["lora"]
    torch.testing.assert_close(logprobs(loaded, prompts, ids, mask), policy)
    with loaded.reference():
        torch.testing.assert_close(logprobs(loaded, prompts, ids, mask), base)


def test_lora_on_a_model_built_in_memory_saves_its_base(tiny_lm, tmp_path):
    prompts, ids, mask = batch(tiny_lm)
    base = logprobs(tiny_lm, prompts, ids, mask)
    tiny_lm.enable_lora(r=4)
    perturb_adapter(tiny_lm)
    policy = logprobs(tiny_lm, prompts, ids, mask)
    tiny_lm.save(tmp_path / "sft")
    assert (tmp_path / "sft" / "base" / "model.safetensors").is_file()
    loaded = AudioLM.load(tmp_path / "sft").eval()
    torch.testing.assert_close(logprobs(loaded, prompts, ids, mask), policy)
    with loaded.reference():
        torch.testing.assert_close(logprobs(loaded, prompts, ids, mask), base)


def test_merge_lora_makes_the_trained_model_the_next_reference(tiny_lm, tmp_path):
    prompts, ids, mask = batch(tiny_lm)
    tiny_lm.enable_lora(r=4)
    perturb_adapter(tiny_lm)
    sft = logprobs(tiny_lm, prompts, ids, mask)
    tiny_lm.merge_lora()
    assert tiny_lm.peft is None and tiny_lm.lora is None
    assert not any("lora_" in n for n, _ in tiny_lm.model.named_parameters())
    torch.testing.assert_close(logprobs(tiny_lm, prompts, ids, mask), sft)
    tiny_lm.enable_lora(r=4)
    perturb_adapter(tiny_lm)
    assert (logprobs(tiny_lm, prompts, ids, mask) - sft).abs().max() > 1e-3
    with tiny_lm.reference():
        torch.testing.assert_close(logprobs(tiny_lm, prompts, ids, mask), sft)
    tiny_lm.save(tmp_path / "grpo")  # the merged base is saved beside the new adapter
    loaded = AudioLM.load(tmp_path / "grpo")
    with loaded.reference():
        torch.testing.assert_close(logprobs(loaded, prompts, ids, mask), sft)
