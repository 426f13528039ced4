r"""Stages 3 and 4: class posteriors and predictions of a trained classifier over a feature dump.

Writes out_dir/{labels,predictions,posteriors.ark,posteriors.scp} (see emorl.ser.infer). Any model
dir in emorl.ser.model's format works (supervised or adapted); only model.pt is read.

Usage:
    python -m emorl.bin.infer_ser --model_dir exp/fbank/ser_ser/seed0 \
        --feats_dir dump/fbank/src_test \
        --out_dir exp/fbank/ser_ser/seed0/decode_src_test
"""

from __future__ import annotations

import logging
from pathlib import Path

from emorl import cli
from emorl.data.feats import read_feats
from emorl.ser.infer import predict_posteriors, write_decode_dir
from emorl.ser.model import check_dump_matches, load_model
from emorl.train import select_device


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("--model_dir", type=Path, required=True, help="dir with model.pt")
    parser.add_argument("--feats_dir", type=Path, required=True, help="feature dump dir")
    parser.add_argument("--out_dir", type=Path, required=True, help="decode dir to write")
    parser.add_argument("--batch_size", type=int, default=64, help="utterances per batch")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    model, labels, config = load_model(args.model_dir, select_device(args.device))
    info, feats = read_feats(args.feats_dir)
    check_dump_matches(config, info, args.feats_dir, args.model_dir)
    posteriors = predict_posteriors(model, feats, args.batch_size)
    write_decode_dir(args.out_dir, posteriors, labels)
    logging.info("%d utterances decoded into %s", len(posteriors), args.out_dir)


if __name__ == "__main__":
    main()
