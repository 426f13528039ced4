"""What every entry point shares: ``--config`` yaml with command-line overrides, logging, seeding.

Usage in an entry point::

    parser = emorl.cli.get_parser(__doc__)
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    args = emorl.cli.parse_args(parser, argv)   # yaml values, then command-line overrides
    emorl.cli.setup_logging()
    emorl.cli.save_config(args, exp_dir / "config.yaml")
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from emorl.atomic import atomic_write

LOG_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"


def str2bool(value: str) -> bool:
    """Parse ``true/false/yes/no/1/0`` as given by shell scripts."""
    lowered = str(value).lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def get_parser(description: str | None) -> argparse.ArgumentParser:
    """A parser with ``--config``; the description is the entry point's docstring."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", type=Path, help="yaml file of option values (command line wins)"
    )
    return parser


def parse_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """Parse with yaml defaults from ``--config``; unknown yaml keys stop with the file named."""
    pre, _ = parser.parse_known_args(argv)
    if pre.config is not None:
        try:
            values = yaml.safe_load(pre.config.read_text()) or {}
        except FileNotFoundError:
            parser.error(f"--config {pre.config}: no such file")
        except yaml.YAMLError as e:
            parser.error(f"--config {pre.config}: not valid yaml ({e})")
        if not isinstance(values, dict):
            parser.error(f"--config {pre.config}: expected a mapping of option names to values")
        actions = {action.dest: action for action in parser._actions}
        unknown = sorted(set(values) - set(actions))
        if unknown:
            parser.error(f"--config {pre.config}: unknown options {unknown}")
        try:
            values = {key: _yaml_value(actions[key], value) for key, value in values.items()}
        except ValueError as e:
            parser.error(f"--config {pre.config}: {e}")
        parser.set_defaults(**values)
    return parser.parse_args(argv)


def _yaml_value(action: argparse.Action, value):
    """A yaml value converted and checked as the command line would (its ``type``, ``nargs`` and
    ``choices``); argparse itself does neither for non-string defaults."""
    if value is None:
        return None
    many = action.nargs in ("*", "+") or isinstance(action.nargs, int)
    if many and not isinstance(value, list):
        value = str(value).split() if isinstance(value, str) else [value]
    if not many and action.type is not None and isinstance(value, (list, dict)):
        raise ValueError(f"option {action.dest}: expected one value, got {value!r}")
    return [_convert(action, v) for v in value] if many else _convert(action, value)


def _convert(action: argparse.Action, value):
    if action.type is not None:
        try:
            value = action.type(value if isinstance(value, str) else str(value))
        except (argparse.ArgumentTypeError, TypeError, ValueError) as e:
            raise ValueError(f"option {action.dest}: invalid value {value!r} ({e})") from None
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise ValueError(f"option {action.dest}: {value!r} is not one of {choices}")
    return value


def setup_logging(log_file: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Log to stderr (and a file) with time, module and line."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(level=level, format=LOG_FORMAT, handlers=handlers, force=True)


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)


def add_num_threads(parser: argparse.ArgumentParser) -> None:
    """``--num_threads``: torch CPU threads per job. 1 by default: a recipe's ``nj`` jobs share
    the machine's cores, and jobs of several threads each fight over them."""
    parser.add_argument(
        "--num_threads", type=int, default=1, help="torch CPU threads per job (0: torch's default)"
    )


def set_num_threads(num_threads: int) -> None:
    """Apply ``--num_threads`` (0 leaves torch's default)."""
    if num_threads > 0:
        import torch

        torch.set_num_threads(num_threads)


def _plain(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def save_config(args: argparse.Namespace | dict, path: str | os.PathLike) -> None:
    """Save the resolved options as yaml (atomically), plus the command line that produced them."""
    values = vars(args) if isinstance(args, argparse.Namespace) else dict(args)
    values = {k: _plain(v) for k, v in values.items() if k != "config"}
    with atomic_write(path) as f:
        f.write(f"# {' '.join(sys.argv)}\n")
        yaml.safe_dump(values, f, sort_keys=True)


def start_exp_dir(args: argparse.Namespace, exp_dir: str | os.PathLike) -> Path:
    """Create a training run's ``exp_dir``, log to its ``train.log`` (with the command line) and
    save the resolved options as its ``config.yaml``."""
    exp_dir = Path(exp_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    setup_logging(exp_dir / "train.log")
    logging.info("command: %s", " ".join(sys.argv))
    save_config(args, exp_dir / "config.yaml")
    return exp_dir
