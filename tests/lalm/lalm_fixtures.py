"""Helpers of the audio-LM tests: a tiny random Whisper checkpoint, synthetic waves, texts."""

from __future__ import annotations

from audio_fixtures import save_tiny_whisper, synth_wave  # noqa: F401  (re-exported)

TEXTS = [
    "Which emotion does the speaker express? Answer with one word.",
    "angry",
    "happy",
    "sad",
    "neutral",
    "<think>The voice is loud and fast.</think><answer>angry</answer>",
    "<think>The pitch is low and the rate slow.</think><answer>sad</answer>",
    "Describe the emotion of the speaker in one sentence.",
    "The speaker sounds calm and a little tired.",
]


TINY_TEXT = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 512,
}
