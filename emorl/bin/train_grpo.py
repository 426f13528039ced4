"""Stage 6: GRPO on an audio-language model (EMO-RL, MECap-R1, AffectGPT-RL).

Reads the initial model (the SFT model dir, exp/.../model with its task.json, or any Qwen2-Audio
checkpoint directory with --task/--format/--label_set) and a training data dir (utt2emo,
utt2caption or utt2ovlabels by task). The task, output format, label set and prompt of an SFT model
dir are its task.json's (an option that contradicts them stops). Writes into exp_dir: model/ (the
trained model, adapter-only with LoRA, and task.json: decoding reads it as it reads SFT's),
train_log.csv and tensorboard/ (one row per step), checkpoints/, train.log and config.yaml. A model
that already has a LoRA adapter (an SFT run with LoRA) has it merged first: that model is the KL
reference. See emorl.rl.grpo_trainer for the algorithm and what differs from TRL's GRPOTrainer;
rewards are the registry's (emorl.rl.rewards), given as a yaml mapping (rewards: {accuracy: 1,
eswr: {weight: 1, gamma: 0.7}, format: {weight: 0.5, format: esr}}) or name=weight,...

Usage:
    python -m emorl.bin.train_grpo --config conf/lalm/grpo_eswr.yaml \
        --init_model exp/lalm_mini_sft_mini_esr/seed1/model --train_data data/src_train \
        --exp_dir exp/lalm_mini_grpo_eswr_esr/seed1 --seed 1 [--resume true]
    # from a Qwen2-Audio checkpoint without SFT: say the task
    ... --init_model /models/Qwen2-Audio-7B-Instruct --task emo --format esr --label_set meld
    # data parallel over N processes (GPUs, or CPU processes with gloo): the same options after
    torchrun --standalone --nproc_per_node N -m emorl.bin.train_grpo ...
"""

from __future__ import annotations

from emorl import cli
from emorl.rl.grpo_run import add_arguments, run


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    add_arguments(parser)
    run(cli.parse_args(parser, argv))


if __name__ == "__main__":
    main()
