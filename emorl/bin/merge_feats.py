"""Stage 2, after the extraction jobs: merge their indexes into feats.scp and feats_info.json.

Checks that all NJ jobs finished with the same options and that every utterance of the data dir has
features; writes <out_dir>/feats.scp (sorted) and <out_dir>/feats_info.json atomically.

Usage:
    python -m emorl.bin.merge_feats --data_dir data/src_train --out_dir dump/fbank/src_train --nj 2
"""

from __future__ import annotations

import logging
from pathlib import Path

from emorl import cli
from emorl.data.datadir import DataDir
from emorl.upstream.dump import merge


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument(
        "--data_dir", type=Path, required=True, help="the data dir the jobs extracted"
    )
    parser.add_argument("--out_dir", type=Path, required=True, help="the dump dir the jobs wrote")
    parser.add_argument("--nj", type=int, required=True, help="the number of extraction jobs")
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    info = merge(DataDir.load(args.data_dir), args.out_dir, args.nj)
    logging.info(
        "%s: %s, layers %s x %d dims, pooling %s, %s",
        args.out_dir,
        info.upstream,
        info.layers,
        info.dim,
        info.pooling,
        info.dtype,
    )


if __name__ == "__main__":
    main()
