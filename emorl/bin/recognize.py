r"""Recognise the emotion of audio files with a trained model: one line per file, in input order.

The model is an exp dir (stage 3 or stage 4: --exp_dir) or a packed model (emorl.bin.pack_model:
--model). Inputs are files (wav, flac, ogg, mp3 through libsndfile; mp4 and other containers
through PyAV) at any sample rate and channel count, or directories (their audio files,
recursively). Output lines: tsv (path, label, top classes as label:posterior) or json (JSON Lines:
every posterior, duration, windows). Inputs longer than --window_seconds are split into windows
whose posteriors are averaged (see emorl.infer.ser).

Usage:
    python -m emorl.bin.recognize --exp_dir exp/whisper_tiny.en/ser_ser/seed1 a.wav b.flac clips/
    python -m emorl.bin.recognize --model model.zip --output json --nj 2 clips/ > out.jsonl
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from tqdm import tqdm

from emorl import cli
from emorl.atomic import atomic_write
from emorl.data.audio import AudioError
from emorl.infer.audio import expand_inputs
from emorl.infer.run import FORMATS, format_line, recognize_files
from emorl.infer.ser import DEFAULT_WINDOW_SECONDS

#: Inputs from which on a progress bar is shown.
PROGRESS_MIN_FILES = 10


def get_parser():
    parser = cli.get_parser(__doc__)
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--exp_dir", type=Path, help="experiment dir of a trained model")
    model.add_argument("--model", type=Path, help="packed model (.zip from emorl.bin.pack_model)")
    parser.add_argument("inputs", nargs="+", help="audio files or directories")
    parser.add_argument("--output", choices=FORMATS, default="tsv", help="line format")
    parser.add_argument("--out", type=Path, help="write the lines here (default: stdout)")
    parser.add_argument("--top", type=int, default=3, help="tsv: classes shown per file")
    parser.add_argument("--nj", type=int, default=1, help="parallel jobs (processes)")
    parser.add_argument("--ngpu", type=int, default=0, help="GPUs the jobs share (0: CPU)")
    cli.add_num_threads(parser)
    parser.add_argument("--files_per_batch", type=int, default=8, help="files encoded together")
    parser.add_argument(
        "--window_seconds",
        type=float,
        default=DEFAULT_WINDOW_SECONDS,
        help="longer inputs are windowed, posteriors averaged (0: never)",
    )
    parser.add_argument(
        "--upstream_path", help="upstream checkpoint or model dir (default: found by name)"
    )
    return parser


def main(argv=None) -> None:
    parser = get_parser()
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    try:
        files = expand_inputs(args.inputs)
    except AudioError as e:
        parser.error(str(e))
    options = {"window_seconds": args.window_seconds}
    if args.upstream_path:
        options["upstream_path"] = args.upstream_path
    results = recognize_files(
        args.model or args.exp_dir,
        files,
        nj=args.nj,
        ngpu=args.ngpu,
        files_per_batch=args.files_per_batch,
        num_threads=args.num_threads,
        **options,
    )
    progress = tqdm(
        total=len(files), unit="file", disable=len(files) < PROGRESS_MIN_FILES, file=sys.stderr
    )
    try:
        if args.out is None:
            for result in results:
                print(format_line(result, args.output, args.top), flush=True)
                progress.update()
        else:
            with atomic_write(args.out) as f:
                for result in results:
                    f.write(format_line(result, args.output, args.top) + "\n")
                    progress.update()
    except ValueError as e:  # bad input: AudioError, RecognizerError, UpstreamError, options
        progress.close()
        logging.error("%s", e)
        sys.exit(1)
    progress.close()
    logging.info("%d files recognised", len(files))


if __name__ == "__main__":
    main()
