"""The real-corpus recipes: their layout, and local/data.sh run through bash on a fixture."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_fixtures import make_iemocap

from emorl.bin.prepare_data import corpus_names
from emorl.data.datadir import DataDir
from emorl.data.labels import LABEL_SETS

ROOT = Path(__file__).resolve().parents[3]
RECIPES = {
    "iemocap/emo1": "IEMOCAP",
    "meld/emo1": "MELD",
    "ravdess/emo1": "RAVDESS",
    "cremad/emo1": "CREMAD",
    "esd/emo1": "ESD",
    "msppodcast/emo1": "MSP_PODCAST",
    "casia/emo1": "CASIA",
    "cafe/emo1": "CAFE",
    "m3ed/emo1": "M3ED",
    "emotiontalk/emo1": "EMOTIONTALK",
    "emotiontalk/cap1": "EMOTIONTALK",
    "mer2023/emo1": "MER2023",
    "mer2023/ov1": "MER2023",
}
# path.sh is the template's, which installs tools/venv on first use; this stand-in only puts the
# running interpreter and the repository on the paths, so the test never installs anything.
PATH_SH = f'export PATH="{Path(sys.executable).parent}:$PATH" PYTHONPATH="{ROOT}"\n'


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_layout(recipe):
    d = ROOT / "egs" / recipe
    corpus, task = recipe.split("/")
    assert os.access(d / "run.sh", os.X_OK) and os.access(d / "local" / "data.sh", os.X_OK)
    # classifier recipes run emo.sh; the captioning and open-vocabulary ones lalm.sh
    script = (
        ("emo.sh", "TEMPLATE/emo1/emo.sh")
        if task == "emo1"
        else ("lalm.sh", "TEMPLATE/lalm1/lalm.sh")
    )
    for link, target in (script, ("path.sh", "TEMPLATE/emo1/path.sh")):
        assert (d / link).is_symlink() and (d / link).resolve() == ROOT / "egs" / target
    assert (d / "utils").is_symlink() and (d / "utils").resolve() == ROOT / "utils"
    assert (d / "cmd.sh").resolve() == ROOT / "egs/TEMPLATE/emo1/cmd.sh"
    data_sh = (d / "local" / "data.sh").read_text()
    assert f"--corpus {corpus} " in data_sh and corpus in corpus_names()
    assert f"{RECIPES[recipe]}=${{{RECIPES[recipe]}:-}}" in (d / "db.sh").read_text()
    run_sh = (d / "run.sh").read_text()
    if task == "emo1":
        label_set = re.search(r"--label_set (\w+)|label_set=(\w+)", run_sh)
        assert (label_set.group(1) or label_set.group(2)) in LABEL_SETS
    else:
        assert f"./lalm.sh \\\n    --task {task[:-1]} \\\n" in run_sh
    readme = (d / "README.md").read_text()
    assert "<!-- RESULTS START -->" in readme and "<!-- RESULTS END -->" in readme
    if task == "emo1":
        assert (d / "conf" / "ser.yaml").is_file()


def stage_recipe(tmp_path, recipe):
    """A copy of the recipe's local/data.sh and db.sh beside a stand-in path.sh."""
    d = tmp_path / "recipe"
    (d / "local").mkdir(parents=True)
    shutil.copy2(ROOT / "egs" / recipe / "local" / "data.sh", d / "local" / "data.sh")
    shutil.copy2(ROOT / "egs" / recipe / "db.sh", d / "db.sh")
    (d / "path.sh").write_text(PATH_SH)
    return d


def data_sh(d, env=None, *args):
    env = {k: v for k, v in os.environ.items() if k not in RECIPES.values()} | (env or {})
    return subprocess.run(
        ["bash", "local/data.sh", *args], cwd=d, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_data_sh_says_which_variable_to_set(recipe, tmp_path):
    result = data_sh(stage_recipe(tmp_path, recipe))
    assert result.returncode == 1
    assert f"set {RECIPES[recipe]} in db.sh (or export it) to " in result.stderr


def test_iemocap_data_sh_prepares_the_fixture(tmp_path):
    d = stage_recipe(tmp_path, "iemocap/emo1")
    corpus = make_iemocap(tmp_path / "IEMOCAP_full_release")
    result = data_sh(d, {"IEMOCAP": str(corpus)}, "--label_set", "iemocap6")
    assert result.returncode == 0, result.stderr
    for k in range(1, 6):
        test = DataDir.load(d / "data" / f"fold{k}_test", label_set=LABEL_SETS["iemocap6"])
        assert len(test.utts) == 6
    wrong = data_sh(d, {"IEMOCAP": str(tmp_path)})
    assert wrong.returncode != 0
    assert "Session1: no such directory; expected the IEMOCAP corpus" in wrong.stderr
