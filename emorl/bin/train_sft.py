r"""Cold-start SFT of an audio-language model on a data dir and its SFT targets (emorl.lalm.sft).

Writes exp_dir/model (the best dev step: model, tokenizer, task.json), exp_dir/checkpoints/,
exp_dir/train_log.csv, exp_dir/tensorboard/, exp_dir/best.json, exp_dir/config.yaml.

Usage:
    python -m emorl.bin.train_sft --config conf/lalm/sft_mini.yaml --task emo --format esr \
        --label_set mini_emo --model mini \
        --train_data data/src_train --train_targets dump/lalm_targets/emo_esr/src_train/targets \
        --dev_data data/src_dev --dev_targets dump/lalm_targets/emo_esr/src_dev/targets \
        --exp_dir exp/lalm_mini_sft_mini_esr/seed1 --seed 1 --resume true

Data parallel over N processes (GPUs, or CPU processes with gloo): the same options after
    torchrun --standalone --nproc_per_node N -m emorl.bin.train_sft ...
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from pathlib import Path

from emorl import cli
from emorl.lalm.data import LalmDataset
from emorl.lalm.sft import SftConfig, file_md5, train_sft
from emorl.train import Distributed


def get_parser():
    parser = cli.get_parser(__doc__)
    g = parser.add_argument_group("data")
    g.add_argument("--train_data", type=Path, required=True, help="training data dir")
    g.add_argument("--train_targets", type=Path, required=True, help="its targets file")
    g.add_argument("--dev_data", type=Path, required=True, help="dev data dir")
    g.add_argument("--dev_targets", type=Path, required=True, help="its targets file")
    g.add_argument("--exp_dir", type=Path, required=True, help="output dir")
    g.add_argument(
        "--resume", type=cli.str2bool, default=False, help="continue from the last checkpoint"
    )
    g = parser.add_argument_group("SFT (emorl.lalm.sft.SftConfig)")
    hints = typing.get_type_hints(SftConfig)
    for f in dataclasses.fields(SftConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        kind = hints[f.name]
        if kind is bool:
            g.add_argument(f"--{f.name}", type=cli.str2bool, default=default)
        elif isinstance(default, list):
            g.add_argument(f"--{f.name}", nargs="+", default=default)
        elif kind in (int, float):
            g.add_argument(f"--{f.name}", type=kind, default=default)
        else:
            g.add_argument(f"--{f.name}", default=default)
    return parser


def sft_config_from_args(args) -> SftConfig:
    """The checked SftConfig of parsed options (raises on an invalid combination)."""
    config = SftConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(SftConfig)})
    config.check()
    return config


def main(argv=None) -> None:
    args = cli.parse_args(get_parser(), argv)
    config = sft_config_from_args(args)
    with Distributed(config.device) as env:  # several processes under torchrun
        if env.is_main:
            cli.setup_logging(args.exp_dir / "train.log")
            cli.save_config(args, args.exp_dir / "config.yaml")
        else:
            cli.setup_logging(level=logging.WARNING)
        train = LalmDataset.from_dir(args.train_data, config.task, args.train_targets)
        dev = LalmDataset.from_dir(args.dev_data, config.task, args.dev_targets)
        fingerprint = {
            str(path): file_md5(path)
            for path in (
                args.train_targets,
                args.dev_targets,
                args.train_data / "wav.scp",
                args.dev_data / "wav.scp",
            )
        }
        train_sft(
            config,
            train,
            dev,
            args.exp_dir,
            resume=args.resume,
            fingerprint=fingerprint,
            env=env,
        )


if __name__ == "__main__":
    main()
