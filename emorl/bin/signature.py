"""Print the fingerprint of each feature dump or model dir: what it was made from, by content.

The recipes' run_unit (egs/TEMPLATE/stage_utils.sh) puts these lines into a unit's signature, so
that a unit reading a dump is redone when the dump's values change even though its feats.scp is
byte-identical (e.g. fbank_cmvn false -> true). A dump dir gives the fingerprint stage 2 stored in
its feats_info.json (emorl.fingerprint); a model dir the sha256 of its model.pt.

Usage:
    python -m emorl.bin.signature dump/fbank/src_train exp/fbank/ser_ser/seed1
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emorl.fingerprint import dump_fingerprint, model_sha256


def fingerprint(path: Path) -> str:
    """The fingerprint of a dump dir or model dir (anything else stops, naming it)."""
    if (path / "feats_info.json").is_file():
        return dump_fingerprint(path)
    if (path / "model.pt").is_file():
        return model_sha256(path)
    raise FileNotFoundError(f"{path}: neither a feature dump (feats_info.json) nor a model dir")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+", type=Path, help="dump dirs or model dirs")
    args = parser.parse_args(argv)
    for path in args.paths:
        print(f"{fingerprint(path)}  {path}")


if __name__ == "__main__":
    main()
