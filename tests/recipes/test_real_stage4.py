"""Stage 4 of the real-corpus recipes on their fixture trees: the few-labels protocol
(--labeled_fraction) in IEMOCAP, CASIA, CaFE, MELD and M3ED, and IEMOCAP -> MELD adaptation on
unlabeled MELD train in iemocap_meld. Stages 1-4 with fbank, one seed, two adapt configs (their
epochs cut to one) and a small classifier."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from recipe_copy import copy_recipe

from emorl.bin import train_bgrpo
from emorl.cli import get_parser, parse_args
from emorl.data.datadir import DataDir
from emorl.rl import adaptation

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "data" / "corpora"))
import corpus_fixtures  # noqa: E402

PATH_SH = f'export PATH="{Path(sys.executable).parent}:{ROOT}/utils:$PATH" PYTHONPATH="{ROOT}"\n'
SMALL_SER = "pooling: stats\nhidden_dims: [8]\nmax_epochs: 2\nbatch_size: 4\nlr: 0.01\n"
#: recipe -> (fixture builders by db.sh variable, the training set that is split, the labeled
#: fraction: MELD's and M3ED's fixtures have 3 training utterances, and a group needs 2)
FEW_LABELS = {
    "iemocap": ({"IEMOCAP": "make_iemocap"}, "fold1_train", "0.5"),
    "casia": ({"CASIA": "make_casia"}, "fold1_train", "0.5"),
    "cafe": ({"CAFE": "make_cafe"}, "fold1_train", "0.5"),
    "meld": ({"MELD": "make_meld"}, "train", "0.3"),
    "m3ed": ({"M3ED": "make_m3ed"}, "train", "0.3"),
}
#: fixture options: CaFE's 6 folds need 6 actors
FIXTURE_OPTIONS = {"make_cafe": {"actors": 6}}
ADAPT_CONFS = sorted(ROOT.glob("egs/*/emo1/conf/adapt/**/*.yaml"))  # with the search dirs


@pytest.mark.parametrize("conf", ADAPT_CONFS, ids=lambda p: str(p.relative_to(ROOT / "egs")))
def test_adapt_configs_are_train_bgrpo_options(conf, monkeypatch):
    recipe = next(d for d in conf.parents if d.name == "conf").parent
    monkeypatch.chdir(recipe)  # paths in the configs are relative to the recipe
    parser = get_parser(train_bgrpo.__doc__)
    adaptation.add_arguments(parser)
    args = parse_args(
        parser,
        ["--config", str(conf), "--init_model", "m", "--unlabeled_data", "d"]
        + ["--unlabeled_feats", "f", "--exp_dir", "e"],
    )
    if args.unlabeled_label_map is not None:
        assert args.unlabeled_label_map.is_file()
    # every config is used: by run.sh, or by a command of the README (e.g. the *_noren configs
    # of the few-labels protocol; a search dir's configs, all at once by its dir)
    used_by = (recipe / "run.sh").read_text() + (recipe / "README.md").read_text()
    path = conf.relative_to(recipe)
    named = path.as_posix() if path.parent.name == "adapt" else f"{path.parent.as_posix()}/*.yaml"
    assert named in used_by


def prepare(recipe: str, tmp_path: Path, builders: dict[str, str]) -> tuple[Path, dict]:
    """A copy of the recipe with a small classifier and one-epoch adapt configs; its db env."""
    copy = copy_recipe(ROOT / "egs" / recipe / "emo1", tmp_path / "emo1", PATH_SH)
    (copy / "conf" / "ser.yaml").write_text(SMALL_SER)
    for conf in (copy / "conf" / "adapt").glob("*.yaml"):
        values = yaml.safe_load(conf.read_text())
        if values.get("epochs"):
            conf.write_text(conf.read_text().replace("epochs: 5", "epochs: 1").replace(
                "batch_size: 32", "batch_size: 4"))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in builders}
    for var, builder in builders.items():
        make = getattr(corpus_fixtures, builder)
        env[var] = str(make(tmp_path / "corpus" / var, **FIXTURE_OPTIONS.get(builder, {})))
    return copy, env


def run(copy: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["./run.sh", "--stage", "1", "--stop_stage", "4", "--upstream", "fbank", "--nj", "1",
         "--seeds", "1", "--adapt_configs", "conf/adapt/target_norm.yaml conf/adapt/bgrpo.yaml",
         *args],
        cwd=copy, env=env, capture_output=True, text=True,
    )  # fmt: skip


def eval_sets(copy: Path) -> list[str]:
    run_sh = (copy / "run.sh").read_text()
    match = re.search(r'--eval_sets "([^"]+)"', run_sh)
    return match.group(1).split() if match else ["fold1_test"]


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(FEW_LABELS))
def test_few_labels_stage4_runs_on_the_fixture(recipe, tmp_path):
    builders, train, fraction = FEW_LABELS[recipe]
    copy, env = prepare(recipe, tmp_path, builders)
    result = run(copy, env, "--labeled_fraction", fraction)
    assert result.returncode == 0, result.stderr[-3000:]
    lab = f"lab{fraction}"
    unlab = DataDir.load(copy / "data" / f"{train}_un{lab}_seed1", validate_dir=False)
    assert unlab.utt2emo is None and len(unlab.utts) >= 2
    exp = next(copy.glob("exp/**/fbank"))
    for system in ("ser_ser", f"ser_ser_{lab}", f"adapt_target_norm_{lab}", f"adapt_bgrpo_{lab}"):
        for dset in eval_sets(copy):
            assert (exp / system / "seed1" / f"decode_{dset}" / "scores.json").is_file(), system


@pytest.mark.slow
def test_iemocap_meld_adapts_on_unlabeled_meld_train(tmp_path):
    builders = {"IEMOCAP": "make_iemocap", "MELD": "make_meld"}
    copy, env = prepare("iemocap_meld", tmp_path, builders)
    # The fixture's MELD test labels (fear, disgust) have no iemocap4 class: score MELD dev.
    result = run(copy, env, "--eval_sets", "iemocap_test meld_dev")
    assert result.returncode == 0, result.stderr[-3000:]
    adapted = copy / "exp" / "fbank" / "adapt_bgrpo" / "seed1"
    config = yaml.safe_load((adapted / "config.yaml").read_text())
    assert config["unlabeled_data"] == "data/meld_train"
    assert config["init_model"] == "exp/fbank/ser_ser/seed1"
    for dset in ("iemocap_test", "meld_dev"):
        assert (adapted / f"decode_{dset}" / "scores.json").is_file()
    assert "are not model classes" not in (adapted / "train.log").read_text()
