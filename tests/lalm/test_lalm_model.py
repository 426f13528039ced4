"""The AudioLM interface: log-probs against a manual forward, generation, references, save/load."""

from __future__ import annotations

import json

import pytest
import torch
from lalm_fixtures import TEXTS, TINY_TEXT, synth_wave

from emorl.lalm import audio as audio_lib
from emorl.lalm.errors import LalmError
from emorl.lalm.model import AudioLM

QUESTION = "Which emotion does the speaker express? Answer with one word."


def prompts_of(lm: AudioLM, seconds=(1.0, 2.3)):
    return [
        lm.prepare(f"utt{i}", synth_wave(s, seed=i), QUESTION if i % 2 == 0 else "Describe it.")
        for i, s in enumerate(seconds)
    ]


def manual_logprobs(lm: AudioLM, wave, prompt, completion: list[int]) -> torch.Tensor:
    """Qwen2-Audio's own forward on 30-s features, one unpadded row."""
    feats = lm.extractor(wave, sampling_rate=16000, return_tensors="pt", return_attention_mask=True)
    ids = torch.tensor([prompt.input_ids + completion])
    with torch.no_grad():
        logits = lm.model(
            input_ids=ids,
            input_features=feats.input_features,
            feature_attention_mask=feats.attention_mask,
        ).logits[0]
    start = len(prompt.input_ids) - 1
    logp = torch.log_softmax(logits[start : start + len(completion)].float(), -1)
    return logp.gather(-1, torch.tensor(completion)[:, None]).squeeze(-1)


def test_prompt_has_chat_template_and_audio_tokens(tiny_lm):
    prompt = tiny_lm.prepare("utt0", synth_wave(3.0), QUESTION)
    text = tiny_lm.tokenizer.decode(prompt.input_ids)
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
    assert text.endswith(f"{QUESTION}<|im_end|>\n<|im_start|>assistant\n")
    assert prompt.input_ids.count(tiny_lm.audio_token_id) == prompt.num_audio_tokens == 75
    assert "<|audio_bos|>" + "<|AUDIO|>" * 75 + "<|audio_eos|>" in text
    assert prompt.input_ids[0] == tiny_lm.tokenizer.convert_tokens_to_ids("<|im_start|>")  # no BOS


def test_completion_ids_end_with_eos(tiny_lm):
    ids, mask = tiny_lm.completion_ids(["angry", "<answer>sad</answer>"])
    for row, m in zip(ids, mask):
        n = int(m.sum())
        assert row[n - 1] == tiny_lm.eos_id and (row[n:] == tiny_lm.pad_id).all()
        assert tiny_lm.tokenizer.decode(row[: n - 1]) in ("angry", "<answer>sad</answer>")


def test_logprobs_equal_manual_forward(tiny_lm):
    waves = [synth_wave(1.0, seed=0), synth_wave(2.3, seed=1)]
    prompts = [tiny_lm.prepare(f"u{i}", w, QUESTION) for i, w in enumerate(waves)]
    texts = ["angry", "sad", "The speaker sounds calm and a little tired.", "happy"]
    ids, mask = tiny_lm.completion_ids(texts)  # 2 prompts x group of 2, different lengths
    with torch.no_grad():
        logp = tiny_lm.logprobs(prompts, ids, mask, group_size=2)
    assert logp.shape == ids.shape and logp.dtype == torch.float32
    assert (logp[mask == 0] == 0).all()
    for row in range(4):
        n = int(mask[row].sum())
        expected = manual_logprobs(
            tiny_lm, waves[row // 2], prompts[row // 2], ids[row, :n].tolist()
        )
        torch.testing.assert_close(logp[row, :n], expected, rtol=1e-4, atol=1e-4)


def test_logprobs_backward_reaches_projector_and_text_model(tiny_lm):
    prompts = prompts_of(tiny_lm)
    ids, mask = tiny_lm.completion_ids(["angry", "sad"])
    tiny_lm.train()
    (-tiny_lm.logprobs(prompts, ids, mask).sum()).backward()
    inner = tiny_lm.model.model
    assert inner.multi_modal_projector.linear.weight.grad.abs().sum() > 0
    assert inner.language_model.layers[0].self_attn.q_proj.weight.grad.abs().sum() > 0
    assert inner.audio_tower.embed_positions.weight.grad is None  # frozen sinusoids


def test_frozen_audio_tower_leaves_the_projector_training(tiny_lm):
    tiny_lm.freeze_audio_tower()
    inner = tiny_lm.model.model
    trainable = {id(p) for p in tiny_lm.parameters()}
    assert not any(id(p) in trainable for p in inner.audio_tower.parameters())
    prompts = prompts_of(tiny_lm)
    ids, mask = tiny_lm.completion_ids(["angry", "sad"])
    (-tiny_lm.logprobs(prompts, ids, mask).sum()).backward()
    assert inner.multi_modal_projector.linear.weight.grad.abs().sum() > 0
    assert inner.audio_tower.conv1.weight.grad is None


def test_greedy_generation_equals_stepwise_argmax(tiny_lm):
    waves = [synth_wave(1.0, seed=0), synth_wave(2.3, seed=1)]
    prompts = [tiny_lm.prepare(f"u{i}", w, QUESTION) for i, w in enumerate(waves)]
    out = tiny_lm.generate(prompts, greedy=True, max_new_tokens=6, suppress_eos=True)
    assert out.ids.shape == (2, 6) and out.mask.all()
    for row, (wave, prompt) in enumerate(zip(waves, prompts)):
        completion = []
        for _ in range(6):
            feats = tiny_lm.extractor(
                wave, sampling_rate=16000, return_tensors="pt", return_attention_mask=True
            )
            with torch.no_grad():
                logits = tiny_lm.model(
                    input_ids=torch.tensor([prompt.input_ids + completion]),
                    input_features=feats.input_features,
                    feature_attention_mask=feats.attention_mask,
                ).logits[0, -1]
            logits[tiny_lm.eos_id] = -float("inf")
            completion.append(int(logits.argmax()))
        assert out.ids[row].tolist() == completion


class EosBias(torch.nn.Module):
    """Wraps lm_head and adds ``bias`` to the EOS logit."""

    def __init__(self, head, eos_id, bias):
        super().__init__()
        self.head, self.eos_id, self.bias = head, eos_id, bias
        self.weight = head.weight

    def forward(self, hidden):
        logits = self.head(hidden)
        logits[..., self.eos_id] += self.bias
        return logits


def test_group_sampling_masks_after_eos_and_encodes_each_clip_once(tiny_lm, monkeypatch):
    tiny_lm.model.lm_head = EosBias(tiny_lm.model.lm_head, tiny_lm.eos_id, 5.0)
    calls = []
    encode = audio_lib.encode
    monkeypatch.setattr(audio_lib, "encode", lambda *a: calls.append(len(a[2])) or encode(*a))
    prompts = prompts_of(tiny_lm)
    gen = torch.Generator().manual_seed(0)
    out = tiny_lm.generate(prompts, group_size=4, max_new_tokens=12, generator=gen, top_p=0.9)
    assert calls == [2]  # one encoder pass over the two clips for the 8 completions
    assert out.ids.shape[0] == 8 and len(out.texts) == 8
    lengths = out.mask.sum(1)
    assert len(set(lengths.tolist())) > 1  # completions of different lengths in one batch
    for ids, mask, finished in zip(out.ids, out.mask, out.finished):
        eos = (ids == tiny_lm.eos_id).nonzero().flatten().tolist()
        if finished:
            n = eos[0] + 1
            assert mask[:n].all() and not mask[n:].any()
            assert (ids[n:] == tiny_lm.pad_id).all()
        else:
            assert not eos and mask.all()
    for ids, mask, text in zip(out.ids, out.mask, out.texts):
        kept = ids[mask.bool()].tolist()
        assert text == tiny_lm.tokenizer.decode(kept, skip_special_tokens=True)


def test_sampling_is_reproducible_and_greedy_ignores_the_seed(tiny_lm):
    prompts = prompts_of(tiny_lm)

    def sample(seed, **kw):
        gen = torch.Generator().manual_seed(seed)
        return tiny_lm.generate(prompts, group_size=2, max_new_tokens=5, generator=gen, **kw).ids

    assert torch.equal(sample(1), sample(1))
    assert not torch.equal(sample(1), sample(2))
    assert torch.equal(sample(1, greedy=True), sample(2, greedy=True))


def test_reference_is_a_frozen_copy_without_lora(tiny_lm):
    prompts = prompts_of(tiny_lm)
    ids, mask = tiny_lm.completion_ids(["angry", "sad"])
    with pytest.raises(LalmError, match="no reference model"):
        with tiny_lm.reference():
            pass
    tiny_lm.freeze_reference()
    with torch.no_grad():
        before = tiny_lm.logprobs(prompts, ids, mask)
        tiny_lm.model.model.multi_modal_projector.linear.bias.add_(1.0)
        after = tiny_lm.logprobs(prompts, ids, mask)
        with tiny_lm.reference():
            reference = tiny_lm.logprobs(prompts, ids, mask)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(reference, before)


def test_prompt_longer_than_context_names_the_utterance(tiny_whisper):
    lm = AudioLM.build_mini(
        TEXTS,
        whisper_checkpoint=tiny_whisper,
        vocab_size=400,
        **{**TINY_TEXT, "max_position_embeddings": 128},
    )
    prompt = lm.prepare("short", synth_wave(1.0), "Which?")
    with pytest.raises(LalmError, match="long_one: prompt of .* context of 128"):
        lm.prepare("long_one", synth_wave(5.0), "Which?")
    with pytest.raises(LalmError, match=r"short: prompt of \d+ tokens \+ 100 completion"):
        lm.generate([prompt], max_new_tokens=100)


def test_long_audio_option_of_the_model(tiny_whisper):
    lm = AudioLM.build_mini(
        TEXTS,
        whisper_checkpoint=tiny_whisper,
        vocab_size=400,
        long_audio="split",
        **{**TINY_TEXT, "max_position_embeddings": 2048},
    )
    prompt = lm.prepare("u", synth_wave(40.0), "Which?")  # two windows of 20 s
    assert len(prompt.windows) == 2 and prompt.num_audio_tokens == 2 * 500
    (tokens,) = lm.encode_audio([prompt])
    assert tokens.shape == (1000, TINY_TEXT["hidden_size"])
    lm.long_audio = "error"
    with pytest.raises(LalmError, match="u: 40.00 s is longer"):
        lm.prepare("u", synth_wave(40.0), "Which?")


def test_save_load_round_trip_and_real_kind(tiny_lm, tmp_path):
    prompts = prompts_of(tiny_lm)
    ids, mask = tiny_lm.completion_ids(["angry", "sad"])
    with torch.no_grad():
        expected = tiny_lm.logprobs(prompts, ids, mask)
    tiny_lm.save(tmp_path / "mini")
    meta = json.loads((tmp_path / "mini" / "emorl_lalm.json").read_text())
    assert meta["kind"] == "mini" and meta["dtype"] == "float32" and meta["lora"] is None
    assert meta["options"]["vocab_size"] == 400
    loaded = AudioLM.load(tmp_path / "mini").eval()
    assert loaded.kind == "mini"
    with torch.no_grad():
        torch.testing.assert_close(loaded.logprobs(prompts, ids, mask), expected)
    # a plain Qwen2-Audio directory (no emorl_lalm.json) is the real kind
    (tmp_path / "mini" / "emorl_lalm.json").unlink()
    real = AudioLM.load(tmp_path / "mini", dtype="float32")
    assert real.kind == "real"


def test_load_refuses_other_architectures(tmp_path):
    (tmp_path / "llama").mkdir()
    (tmp_path / "llama" / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(
        LalmError,
        match=r"not a Qwen2-Audio model directory: model_type 'llama', missing "
        r"tokenizer_config.json, preprocessor_config.json, \*.safetensors",
    ):
        AudioLM.load(tmp_path / "llama")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LalmError, match="model_type None, missing config.json"):
        AudioLM.load(tmp_path / "empty")
    with pytest.raises(LalmError, match="does not exist"):
        AudioLM.load(tmp_path / "nowhere")


def test_gradient_checkpointing_gives_the_same_gradients(tiny_lm):
    prompts = prompts_of(tiny_lm)
    ids, mask = tiny_lm.completion_ids(["angry", "sad"])

    def grads():
        tiny_lm.model.zero_grad()
        (-tiny_lm.logprobs(prompts, ids, mask).sum()).backward()
        return [p.grad.clone() for p in tiny_lm.parameters()]

    tiny_lm.train()
    plain = grads()
    tiny_lm.gradient_checkpointing(True)
    checkpointed = grads()
    for a, b in zip(plain, checkpointed):
        torch.testing.assert_close(a, b)


def test_group_logprobs_share_the_prompt_pass_with_the_same_gradients(tiny_lm):
    """group_size > 1 runs each prompt once (KV cache repeated); under gradient checkpointing in
    training mode every row runs its own copy: same values and gradients either way."""
    prompts = prompts_of(tiny_lm)
    ids, mask = tiny_lm.completion_ids(["angry", "sad", "The speaker sounds calm.", "happy"])
    rows = []
    hook = tiny_lm.model.model.language_model.register_forward_hook(
        lambda module, args, kwargs, out: rows.append(kwargs["inputs_embeds"].shape[:2]),
        with_kwargs=True,
    )

    def run():
        tiny_lm.model.zero_grad()
        logp = tiny_lm.logprobs(prompts, ids, mask, group_size=2)
        (-logp.sum()).backward()
        return logp.detach(), [p.grad.clone() for p in tiny_lm.parameters()]

    tiny_lm.train()
    shared, shared_grads = run()
    prompt_width = max(len(p.input_ids) for p in prompts)
    assert rows == [(2, prompt_width), (4, ids.shape[1] - 1)]  # 2 prompt rows, not 4
    rows.clear()
    tiny_lm.gradient_checkpointing(True)
    copied, copied_grads = run()
    assert rows == [(4, prompt_width + ids.shape[1])]
    hook.remove()
    torch.testing.assert_close(shared, copied, rtol=1e-5, atol=1e-5)
    for a, b in zip(shared_grads, copied_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_bfloat16_option(tiny_whisper):
    lm = AudioLM.build_mini(
        TEXTS, whisper_checkpoint=tiny_whisper, vocab_size=400, dtype="bfloat16", **TINY_TEXT
    )
    assert lm.dtype_name == "bfloat16"
    prompts = prompts_of(lm)
    ids, mask = lm.completion_ids(["angry", "sad"])
    with torch.no_grad():
        logp = lm.logprobs(prompts, ids, mask)
    assert logp.dtype == torch.float32 and torch.isfinite(logp).all()
    assert lm.generate(prompts, max_new_tokens=3, greedy=True).ids.shape[0] == 2
