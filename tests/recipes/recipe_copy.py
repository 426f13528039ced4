"""Copies of recipe dirs for tests, their links pointing at this checkout's template and utils,
the tiny SFT config the audio-LM recipe tests train with, and the parsing of recipe SFT and GRPO
configs."""

import argparse
import shutil
from pathlib import Path

from emorl.bin import train_grpo, train_sft
from emorl.cli import get_parser, parse_args
from emorl.lalm.sft import SftConfig

#: A small SFT config of the recipes' mini model kind (a tiny text model), so that a run of the
#: audio-LM stages takes seconds.
TINY_SFT = """vocab_size: 400
hidden_size: 32
num_hidden_layers: 1
num_attention_heads: 2
intermediate_size: 64
num_epochs: 1
batch_size: 8
eval_every: 100
save_every: 100
dev_max_new_tokens: 12
"""

#: What a recipe run produces; never copied.
OUTPUTS = ("data", "dump", "exp", "db", "wav")


def copy_recipe(recipe: Path, dest: Path, path_sh: str | None = None) -> Path:
    """Copy ``recipe`` to ``dest`` without its outputs; ``path_sh`` replaces the path.sh link."""
    dest.mkdir()
    for item in recipe.iterdir():
        if item.name in OUTPUTS or (path_sh is not None and item.name == "path.sh"):
            continue
        if item.is_symlink():
            (dest / item.name).symlink_to(item.resolve())
        elif item.is_dir():
            shutil.copytree(item, dest / item.name)
        else:
            shutil.copy2(item, dest / item.name)
    if path_sh is not None:
        (dest / "path.sh").write_text(path_sh)
    return dest


def grpo_config_args(conf: Path) -> argparse.Namespace:
    """A recipe's GRPO config parsed as the options of emorl.bin.train_grpo (placeholder paths)."""
    parser = get_parser(train_grpo.__doc__)
    train_grpo.add_arguments(parser)
    return parse_args(parser, ["--config", str(conf), "--init_model", "m", "--train_data", "d",
                               "--exp_dir", "e"])  # fmt: skip


def sft_config(conf: Path, *options: str) -> SftConfig:
    """A recipe's SFT config parsed as the options of emorl.bin.train_sft (placeholder data paths;
    ``options`` add the task, format and model), checked as train_sft checks it."""
    args = parse_args(
        train_sft.get_parser(),
        ["--config", str(conf), "--train_data", "d", "--train_targets", "t", "--dev_data", "d",
         "--dev_targets", "t", "--exp_dir", "e", *options],
    )  # fmt: skip
    return train_sft.sft_config_from_args(args)
