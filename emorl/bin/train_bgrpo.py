"""Stage 4: adapt a stage-3 classifier to unlabeled target speech (B-GRPO, or a baseline).

Reads the initial model (stage 3's model dir), the unlabeled data dir and its feature dump, and
optionally a labeled source set (for interleaved supervised cross-entropy). Writes into exp_dir the
adapted model in stage 3's format (model.pt + labels; infer_ser and score read it unchanged),
train_log.csv (one row per step: rewards per component, selection rate, pseudo-label accuracy when
the target has utt2emo), checkpoints/, train.log and config.yaml. See emorl.rl.bgrpo for the
algorithm and emorl.rl.teacher for the teacher options. With --renormalize true the classifier's
input normalisation is first re-estimated on the unlabeled features; --epochs 0 stops there (the
"target_norm" baseline, which isolates what the updates add).

Usage:
    python -m emorl.bin.train_bgrpo --config conf/adapt/bgrpo.yaml \
        --init_model exp/fbank/ser_ser/seed0 \
        --unlabeled_data data/tgt_train --unlabeled_feats dump/fbank/tgt_train \
        [--source_data data/src_train --source_feats dump/fbank/src_train] \
        --exp_dir exp/fbank/adapt_bgrpo/seed0 --seed 0 [--resume true]
    # teacher: another stage-3 model on its own features, or a decode dir of posteriors
    ... --teacher model --teacher_dir exp/whisper_base/ser_ser/seed0 \
        --teacher_feats dump/whisper_base/tgt_train
    ... --teacher posteriors --teacher_dir exp/whisper_base/ser_ser/seed0/decode_tgt_train \
        [--teacher_label_map conf/meld_to_mini_emo.map]
"""

from __future__ import annotations

from emorl import cli
from emorl.rl import adaptation


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    adaptation.add_arguments(parser)
    adaptation.run(cli.parse_args(parser, argv))


if __name__ == "__main__":
    main()
