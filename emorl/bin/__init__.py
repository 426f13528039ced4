"""Entry points, one per stage: ``python -m emorl.bin.<name> --help``."""
