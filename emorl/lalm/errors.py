"""The error the audio-LM stack stops with (bad input, a model directory of another kind)."""


class LalmError(ValueError):
    """Bad input to the audio-LM stack; the message names the utterance or the file."""
