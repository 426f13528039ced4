"""emorl: reinforcement learning recipes for speech emotion recognition."""

__version__ = "0.1.0"

# ``from emorl import Recognizer``: the inference API (emorl.infer), imported on first use so
# that ``import emorl`` stays light (no torch) for the tools that only read data dirs.
_LAZY = ("Recognition", "Recognizer", "RecognizerError")


def __getattr__(name: str):
    if name in _LAZY:
        from emorl import infer

        return getattr(infer, name)
    raise AttributeError(f"module 'emorl' has no attribute {name!r}")
