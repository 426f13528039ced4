"""Audio-language models: prompts and formats, SFT cold start, generation."""
