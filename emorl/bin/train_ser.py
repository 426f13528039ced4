r"""Stage 3: train the supervised SER classifier on dumped features, selecting the model on dev.

Writes exp_dir/{model.pt,labels,train_log.csv,train.log,config.yaml,checkpoints/}; see
emorl.ser.train for what each holds and how --resume continues.

Usage:
    python -m emorl.bin.train_ser --config conf/ser.yaml --label_set mini_emo \
        --train_data data/src_train --train_feats dump/fbank/src_train \
        --dev_data data/src_dev --dev_feats dump/fbank/src_dev \
        --exp_dir exp/fbank/ser_ser/seed0 --seed 0 [--resume true]
    # data-parallel over 2 processes (batch_size is per process):
    torchrun --nproc_per_node 2 -m emorl.bin.train_ser --config conf/ser.yaml ...
"""

from __future__ import annotations

from emorl import cli
from emorl.ser import train


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    train.add_arguments(parser)
    args = cli.parse_args(parser, argv)
    train.train(args)


if __name__ == "__main__":
    main()
