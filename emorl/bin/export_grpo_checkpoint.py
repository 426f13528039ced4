"""Write the model of one checkpoint of a GRPO run (stage 6) as a model dir that decoding reads.

A GRPO run keeps checkpoints every --save_steps steps (the last --keep_checkpoints of them). This
writes the model of one of them into --out_dir, with the run's task.json, exactly as an
emorl.bin.train_grpo run with --max_steps equal to that step writes its model/ (the learning rate is
constant and the data order and sampling depend only on the seed and the step), unless a reward
depends on the run's length (ESWR's alpha on a linear schedule). The checkpoint's own options
rebuild the model; its initial model must be unchanged (checked by its files' hashes).

Usage:
    python -m emorl.bin.export_grpo_checkpoint \
        --exp_dir exp/lalm_mini_sft_mini_esr_grpo_eswr/seed1 \
        --step 100 --out_dir exp/lalm_mini_sft_mini_esr_grpo_eswr/seed1/model_step100
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from emorl import cli
from emorl.rl.grpo_run import export_checkpoint
from emorl.safe_load import CheckpointError


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("--exp_dir", type=Path, required=True, help="the GRPO run's exp dir")
    parser.add_argument("--out_dir", type=Path, required=True, help="model dir to write")
    parser.add_argument("--step", type=int, help="checkpoint step (default: the last kept)")
    parser.add_argument(
        "--init_model", type=Path, help="the run's initial model dir, if it has moved"
    )
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    try:
        step = export_checkpoint(args.exp_dir, args.out_dir, args.step, args.init_model)
    except CheckpointError as e:
        logging.error("%s", e)
        sys.exit(1)
    logging.info("%s: the model of step %d of %s", args.out_dir, step, args.exp_dir)


if __name__ == "__main__":
    main()
