r"""Greedy decoding of an audio-LM model dir over a data dir (job JOB of NJ), then a merge.

The model dir is one written by SFT (emorl.bin.train_sft: exp/.../model, with task.json). Each job
writes out_dir/split<NJ>/<JOB>.jsonl; --merge true (after all jobs) writes the decode dir:
completions.jsonl, hyp, and for emo labels/predictions/posteriors (see emorl.lalm.decode_dir).
Score it with emorl.bin.score_lalm.

Usage:
    python -m emorl.bin.decode_lalm --model_dir exp/lalm_mini_sft_mini_answer/seed1/model \
        --data_dir data/src_test --out_dir exp/lalm_mini_sft_mini_answer/seed1/decode_src_test \
        --nj 2 --job 1
    python -m emorl.bin.decode_lalm --model_dir exp/lalm_mini_sft_mini_answer/seed1/model \
        --data_dir data/src_test --out_dir exp/lalm_mini_sft_mini_answer/seed1/decode_src_test \
        --nj 2 --merge true
"""

from __future__ import annotations

from pathlib import Path

from emorl import cli
from emorl.lalm.data import read_model_task
from emorl.lalm.decode_dir import merge_decode_dir


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("--model_dir", type=Path, required=True, help="SFT'd model dir")
    parser.add_argument("--data_dir", type=Path, required=True, help="data dir to decode")
    parser.add_argument("--out_dir", type=Path, required=True, help="decode dir to write")
    parser.add_argument("--nj", type=int, default=1, help="number of decoding jobs")
    parser.add_argument("--job", type=int, default=1, help="this job, 1..nj")
    parser.add_argument(
        "--merge", type=cli.str2bool, default=False, help="merge the nj jobs' results"
    )
    parser.add_argument("--batch_size", type=int, default=16, help="utterances per batch")
    parser.add_argument("--max_new_tokens", type=int, default=128, help="completion length limit")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    cli.add_num_threads(parser)
    args = cli.parse_args(parser, argv)
    cli.setup_logging()
    task = read_model_task(args.model_dir)
    if args.merge:  # torch-free: the model is neither imported nor loaded
        merge_decode_dir(args.data_dir, args.out_dir, task, args.nj)
        return
    from emorl.lalm.decode import decode_job
    from emorl.train import select_device

    # Two jobs of two threads on two cores (OpenMP threads spinning while they wait for a core)
    # decoded the same utterances 8 times slower than one thread each in one measured run.
    cli.set_num_threads(args.num_threads)

    if args.nj == 1:  # one job: decode and write the decode dir in one go
        decode_job(
            args.model_dir,
            args.data_dir,
            args.out_dir,
            task,
            1,
            1,
            args.batch_size,
            args.max_new_tokens,
            str(select_device(args.device)),
        )
        merge_decode_dir(args.data_dir, args.out_dir, task, 1)
        return
    decode_job(
        args.model_dir,
        args.data_dir,
        args.out_dir,
        task,
        args.nj,
        args.job,
        args.batch_size,
        args.max_new_tokens,
        str(select_device(args.device)),
    )


if __name__ == "__main__":
    main()
