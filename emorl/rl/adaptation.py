"""Stage 4: adapt a stage-3 classifier to unlabeled target speech (B-GRPO, or a baseline).

The orchestration behind ``emorl.bin.train_bgrpo``: reads the initial model, the unlabeled data dir
and its dump, optionally a labeled source set and a teacher, runs :func:`emorl.rl.bgrpo.adapt`, and
writes the adapted model in stage 3's format. With ``--renormalize true`` the classifier's input
normalisation is first re-estimated on the unlabeled features; ``--epochs 0`` stops there.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from emorl import cli
from emorl.data.datadir import DataDir
from emorl.data.feats import read_feats
from emorl.data.labels import map_labels, read_label_map
from emorl.fingerprint import dump_fingerprint, file_sha256, json_sha256, model_sha256, tree_sha256
from emorl.rl.bgrpo import ACTIONS, METHODS, AdaptConfig, AdaptData, AdaptRun, adapt
from emorl.rl.rewards import build_rewards
from emorl.rl.teacher import TEACHERS, teacher_posteriors
from emorl.ser.dataset import FeatsDataset
from emorl.ser.infer import predict_posteriors
from emorl.ser.model import check_dump_matches, load_model, save_model
from emorl.ser.train import feature_stats, load_split
from emorl.train import select_device

DEFAULTS = AdaptConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of stage 4 (also the keys of conf/adapt/*.yaml)."""
    g = parser.add_argument_group("data")
    g.add_argument("--init_model", type=Path, required=True, help="stage-3 model dir (model.pt)")
    g.add_argument("--unlabeled_data", type=Path, required=True, help="target data dir")
    g.add_argument("--unlabeled_feats", type=Path, required=True, help="target feature dump")
    g.add_argument("--source_data", type=Path, help="labeled source data dir (utt2emo)")
    g.add_argument("--source_feats", type=Path, help="source feature dump")
    g.add_argument("--exp_dir", type=Path, required=True, help="output dir")
    g.add_argument(
        "--unlabeled_label_map",
        type=Path,
        help="map of the target's utt2emo labels to the model's (analysis statistics only)",
    )
    g.add_argument(
        "--allow_missing",
        type=cli.str2bool,
        default=False,
        help="source set: keep the utterances with both features and labels instead of stopping",
    )
    g = parser.add_argument_group("algorithm")
    g.add_argument("--method", choices=METHODS, default=DEFAULTS.method, help="B-GRPO or baseline")
    g.add_argument(
        "--rewards",
        default=DEFAULTS.rewards,
        help="reward weights, name=weight,... (yaml: a mapping); see emorl.rl.rewards",
    )
    g.add_argument("--action", choices=ACTIONS, default=DEFAULTS.action, help="pseudo-label")
    g.add_argument(
        "--scale_std",
        type=cli.str2bool,
        default=DEFAULTS.scale_std,
        help="divide advantages by the batch's reward std",
    )
    g.add_argument(
        "--keep_negative",
        type=cli.str2bool,
        default=DEFAULTS.keep_negative,
        help="keep negative advantages (ablation; B-GRPO clips them at 0)",
    )
    g.add_argument("--std_eps", type=float, default=DEFAULTS.std_eps, help="added to the std")
    g.add_argument(
        "--threshold",
        type=float,
        default=DEFAULTS.threshold,
        help="pseudo_label: confidence needed to use an utterance",
    )
    g.add_argument(
        "--renormalize",
        type=cli.str2bool,
        default=False,
        help="first re-estimate the classifier's input normalisation on the unlabeled features "
        "(unsupervised, AdaBN-style); the init teacher and the KL reference are that model",
    )
    g.add_argument("--kl_coef", type=float, default=DEFAULTS.kl_coef, help="KL to initial model")
    g.add_argument(
        "--source_ce_coef",
        type=float,
        default=DEFAULTS.source_ce_coef,
        help="weight of cross-entropy on interleaved source batches (0: source unused)",
    )
    g = parser.add_argument_group("teacher")
    g.add_argument(
        "--teacher", choices=TEACHERS, default="init", help="where teacher posteriors come from"
    )
    g.add_argument("--teacher_dir", type=Path, help="teacher model dir or decode dir")
    g.add_argument("--teacher_feats", type=Path, help="model teacher: its feature dump")
    g.add_argument("--teacher_label_map", type=Path, help="teacher label -> model label map")
    g = parser.add_argument_group("training")
    g.add_argument("--seed", type=int, default=0, help="random seed")
    g.add_argument(
        "--resume", type=cli.str2bool, default=False, help="continue from the last checkpoint"
    )
    g.add_argument("--epochs", type=int, default=DEFAULTS.epochs, help="passes over the target")
    g.add_argument("--batch_size", type=int, default=DEFAULTS.batch_size, help="group size (>= 2)")
    g.add_argument(
        "--source_batch_size",
        type=int,
        default=DEFAULTS.source_batch_size,
        help="labeled source utterances per step (with --source_ce_coef > 0)",
    )
    g.add_argument("--lr", type=float, default=DEFAULTS.lr, help="Adam learning rate")
    g.add_argument(
        "--weight_decay", type=float, default=DEFAULTS.weight_decay, help="Adam weight decay"
    )
    g.add_argument(
        "--grad_clip", type=float, default=DEFAULTS.grad_clip, help="max gradient norm (0: off)"
    )
    g.add_argument("--keep_checkpoints", type=int, default=2, help="epoch checkpoints kept")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda")


def analysis_labels(data: DataDir, labels: list[str], label_map: Path | None) -> dict[str, int]:
    """Class ids of target utterances whose label is known (for statistics, never for training)."""
    if data.utt2emo is None:
        return {}
    mapping = read_label_map(label_map) if label_map is not None else {}
    mapped, unmapped = map_labels(data.utt2emo, mapping, labels)
    if unmapped:
        logging.warning(
            "%s/utt2emo: labels %s are not model classes (give --unlabeled_label_map); "
            "those utterances are left out of the pseudo-label accuracy",
            data.path,
            unmapped,
        )
    return {utt: labels.index(label) for utt, label in mapped.items()}


def run_options(args: argparse.Namespace) -> dict:
    """The options that define an adaptation run (a checkpoint resumes only a run with the same)."""
    ignored = ("config", "resume", "device", "keep_checkpoints")
    return {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k not in ignored
    }


def input_fingerprint(args: argparse.Namespace, data: DataDir, config: AdaptConfig) -> dict:
    """What identifies the run's inputs: the initial model, the dumps' own fingerprints, the
    utterances and labels used, and the teacher (a checkpoint resumes only the same inputs)."""
    fingerprint = {
        "init_model": model_sha256(args.init_model),
        "unlabeled_feats": dump_fingerprint(args.unlabeled_feats),
        "unlabeled_utts": json_sha256([data.utts, data.utt2emo]),
    }
    if config.source_ce_coef > 0:
        fingerprint["source_feats"] = dump_fingerprint(args.source_feats)
        fingerprint["source_labels"] = file_sha256(Path(args.source_data) / "utt2emo")
    if args.teacher == "model":
        fingerprint["teacher_model"] = model_sha256(args.teacher_dir)
        fingerprint["teacher_feats"] = dump_fingerprint(args.teacher_feats)
    elif args.teacher == "posteriors":
        fingerprint["teacher_posteriors"] = tree_sha256(args.teacher_dir)
    for name in ("unlabeled_label_map", "teacher_label_map"):
        if getattr(args, name) is not None:
            fingerprint[name] = file_sha256(getattr(args, name))
    return fingerprint


def run(args: argparse.Namespace) -> None:
    """Load everything, adapt, and write the model into ``args.exp_dir``."""
    exp_dir = cli.start_exp_dir(args, args.exp_dir)
    config = AdaptConfig(**{k: getattr(args, k) for k in AdaptConfig.__dataclass_fields__})
    cli.set_seed(args.seed)
    model, labels, model_config = load_model(args.init_model, select_device(args.device))

    data = DataDir.load(args.unlabeled_data)
    info, feats = read_feats(args.unlabeled_feats)
    check_dump_matches(model_config, info, args.unlabeled_feats, args.init_model)
    missing = [utt for utt in data.utts if utt not in feats]
    if missing:
        raise ValueError(
            f"{args.unlabeled_feats}/feats.scp: no features for {len(missing)} utterances of "
            f"{args.unlabeled_data} (e.g. {missing[:5]}); rerun stage 2"
        )
    feats = {utt: feats[utt] for utt in data.utts}
    unlabeled = FeatsDataset(feats)
    logging.info("unlabeled: %d utterances from %s", len(unlabeled), args.unlabeled_data)
    if args.renormalize:
        model.set_normalization(*(torch.from_numpy(s) for s in feature_stats(unlabeled)))
        logging.info("input normalisation re-estimated on %s", args.unlabeled_feats)

    # The teacher is computed only when a reward needs its posteriors.
    teacher_table = None
    if config.epochs > 0 and "teacher_probs" in build_rewards(config.rewards).needs:
        teacher_table = teacher_posteriors(
            args.teacher,
            model,
            labels,
            feats,
            args.teacher_dir,
            args.teacher_feats,
            args.teacher_label_map,
        )
    init_table = None
    if config.epochs > 0 and config.kl_coef > 0:
        reuse = args.teacher == "init" and teacher_table is not None
        init_table = teacher_table if reuse else predict_posteriors(model, feats)

    source = None
    if config.source_ce_coef > 0:
        if args.source_data is None or args.source_feats is None:
            raise ValueError("--source_ce_coef > 0 needs --source_data and --source_feats")
        source_info, source = load_split(
            args.source_data, args.source_feats, labels, args.allow_missing
        )
        check_dump_matches(model_config, source_info, args.source_feats, args.init_model)
    elif args.source_data is not None:
        logging.info("source data %s unused (source_ce_coef 0)", args.source_data)

    inputs = AdaptData(
        unlabeled,
        teacher_table=teacher_table,
        init_table=init_table,
        source=source,
        analysis_labels=analysis_labels(data, labels, args.unlabeled_label_map),
    )
    settings = AdaptRun(
        exp_dir,
        seed=args.seed,
        resume=args.resume,
        keep_checkpoints=args.keep_checkpoints,
        options=run_options(args),
        fingerprint=input_fingerprint(args, data, config),
    )
    adapt(model, inputs, config, settings)
    save_model(model, exp_dir, labels, model_config)
    logging.info("adapted model written to %s", exp_dir / "model.pt")
