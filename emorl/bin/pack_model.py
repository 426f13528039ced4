r"""Pack a trained model into one archive that emorl.bin.recognize --model and
emorl.Recognizer.from_pretrained load on another machine.

The archive (zip) holds the model, its config, the label set, how its features are made (upstream
name and options, layers, pooling), the git commit, the RESULTS lines of the exp dir's scored eval
sets, and the sha256 of every file (checked on load). Upstream weights are not bundled: they are
referenced by name and looked for on the loading machine (tools/models, $EMORL_MODEL_DIR, the
upstream's own cache), never downloaded.

Usage:
    python -m emorl.bin.pack_model --exp_dir exp/whisper_tiny.en/ser_ser/seed1 --out model.zip
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from emorl import cli
from emorl.infer import RecognizerError, pack_model


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("--exp_dir", type=Path, required=True, help="experiment dir of a model")
    parser.add_argument("--out", type=Path, required=True, help="archive to write (.zip)")
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    try:
        manifest = pack_model(args.exp_dir, args.out)
    except RecognizerError as e:
        logging.error("%s", e)
        sys.exit(1)
    logging.info(
        "%s: %s model over %s, %d classes, %d result lines, commit %s",
        args.out,
        manifest["kind"],
        manifest.get("upstream", {}).get("name", "-"),
        len(manifest.get("labels", [])),
        len(manifest["results"]),
        manifest["git_commit"],
    )


if __name__ == "__main__":
    main()
