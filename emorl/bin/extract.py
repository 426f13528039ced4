r"""Stage 2: dump upstream features of a data dir (job JOB of NJ; resumable).

Writes dump/<upstream>/<set>/split<NJ>/<JOB>/; emorl.bin.merge_feats then writes feats.scp and
feats_info.json. A killed job rerun with the same options computes only what is missing.

Upstreams (name: meaning) are listed by `--upstream list`.

Usage:
    python -m emorl.bin.extract --upstream whisper_tiny.en \
        --config conf/upstream/whisper_tiny.en.yaml --data_dir data/src_train \
        --out_dir dump/whisper_tiny.en/src_train --nj 2 --job 1
    python -m emorl.bin.extract --upstream wavlm_large --upstream_path /models/wavlm_large.pt \
        --layers 0,6,12,24 --pooling mean_std --data_dir data/test --out_dir dump/wavlm_large/test
    python -m emorl.bin.extract --upstream hf:/models/hubert-large --dtype float16 ...
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from emorl import cli
from emorl.data.datadir import DataDir
from emorl.train import select_device
from emorl.upstream import OPTIONS, UpstreamError, get_upstream, options
from emorl.upstream.dump import DTYPES, POOLINGS, DumpOptions, extract_job


def get_parser():
    parser = cli.get_parser(__doc__)
    parser.add_argument(
        "--upstream", required=True, help="upstream name (`--upstream list` lists them)"
    )
    parser.add_argument(
        "--upstream_path", help="checkpoint file or model dir, when the upstream needs one"
    )
    parser.add_argument("--data_dir", type=Path, help="Kaldi data dir")
    parser.add_argument("--out_dir", type=Path, help="dump dir, e.g. dump/<upstream>/<set>")
    parser.add_argument(
        "--nj", type=int, default=1, help="number of jobs the data dir is split into"
    )
    parser.add_argument("--job", type=int, default=1, help="this job, 1..nj")
    parser.add_argument("--layers", default="all", help="all, last, or layer numbers such as 0,3,6")
    parser.add_argument(
        "--pooling", default="none", choices=POOLINGS, help="frame-level, or mean+std per utterance"
    )
    parser.add_argument(
        "--downsample", type=int, default=1, help="average every k frames (frame-level only)"
    )
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=DTYPES,
        help="storage type (float16 is read back as float32)",
    )
    parser.add_argument(
        "--on_rate_mismatch",
        default="resample",
        choices=("resample", "error"),
        help="audio not at 16 kHz",
    )
    parser.add_argument(
        "--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:1, ..."
    )
    cli.add_num_threads(parser)
    parser.add_argument(
        "--chunk_size", type=int, default=64, help="utterances read and length-sorted at a time"
    )
    parser.add_argument(
        "--batch_seconds", type=float, default=60.0, help="padded audio seconds per batch"
    )
    parser.add_argument(
        "--max_batch_size", type=int, default=16, help="utterances per batch at most"
    )
    for option in OPTIONS:
        parser.add_argument(f"--{option.name}", type=option.type, default=None, help=option.help)
    return parser


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = get_parser()
    args = cli.parse_args(parser, argv)
    if args.upstream == "list":
        for name, meaning in options().items():
            print(f"{name:24s} {meaning}")
        return
    if args.data_dir is None or args.out_dir is None:
        parser.error("--data_dir and --out_dir are required")
    cli.setup_logging()
    cli.set_num_threads(args.num_threads)
    device = str(select_device(args.device))
    upstream_opts = {
        o.name: getattr(args, o.name) for o in OPTIONS if getattr(args, o.name) is not None
    }
    data = DataDir.load(args.data_dir)
    try:
        upstream = get_upstream(args.upstream, args.upstream_path, device=device, **upstream_opts)
    except UpstreamError as e:
        parser.error(str(e))
    logging.info(
        "%s: %d layers of %d dims, %s frames/s, on %s",
        upstream.name,
        upstream.num_layers,
        upstream.dim,
        upstream.frame_rate,
        device,
    )
    cli.save_config(args, args.out_dir / f"split{args.nj}" / f"config.{args.job}.yaml")
    extract_job(
        data,
        upstream,
        args.out_dir,
        DumpOptions(
            layers=args.layers,
            pooling=args.pooling,
            downsample=args.downsample,
            dtype=args.dtype,
            on_rate_mismatch=args.on_rate_mismatch,
            chunk_size=args.chunk_size,
            batch_seconds=args.batch_seconds,
            max_batch_size=args.max_batch_size,
            extra={"upstream_options": upstream_opts},
        ),
        nj=args.nj,
        job=args.job,
    )


if __name__ == "__main__":
    main()
