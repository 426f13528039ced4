"""The mini captioning (cap1) and open-vocabulary (ov1) recipes, all stages at the smallest size."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from recipe_copy import TINY_SFT, copy_recipe, grpo_config_args, sft_config

from emorl.rl.grpo_trainer import with_format_option
from emorl.rl.rewards import parse_reward_spec, reward_names

ROOT = Path(__file__).resolve().parents[2]
# Their GRPO configs with the recipe's rewards, two steps of 2 prompts x 2 completions.
TINY_GRPO = {
    "num_generations": 2,
    "prompts_per_step": 2,
    "max_completion_length": 8,
    "max_steps": 2,
    "save_steps": 1,
}


def shrink_configs(recipe: Path) -> None:
    """Replace the recipe's SFT config by TINY_SFT and shrink its GRPO configs (same rewards)."""
    conf = recipe / "conf" / "lalm"
    (conf / "sft_mini.yaml").write_text(TINY_SFT)
    for path in conf.glob("grpo_*.yaml"):
        config = yaml.safe_load(path.read_text())
        path.write_text(yaml.safe_dump({**config, **TINY_GRPO}))


def run(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["./run.sh", "--size", "tiny", "--seeds", "1", "--nj", "1", *args],
        cwd=recipe,
        capture_output=True,
        text=True,
        env={**os.environ, "MINI_EMO": str(recipe / "db"), "OMP_NUM_THREADS": "1"},
    )


def results_block(recipe: Path) -> str:
    readme = (recipe / "README.md").read_text()
    return readme.split("<!-- RESULTS START -->")[1].split("<!-- RESULTS END -->")[0]


def train_log(exp: Path) -> list[dict]:
    lines = (exp / "train_log.csv").read_text().splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","))) for line in lines[1:]]


@pytest.mark.slow
def test_cap1_sft_emo_grpo_decode_score_report(tmp_path):
    recipe = copy_recipe(ROOT / "egs" / "mini_emo" / "cap1", tmp_path / "cap1")
    shrink_configs(recipe)
    first = run(recipe, "--ablation_seeds", "")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    sft = recipe / "exp" / "lalm_mini_sft_mini_answer" / "seed1"
    grpo = recipe / "exp" / "lalm_mini_sft_mini_answer_grpo_emo" / "seed1"
    rows = train_log(grpo)
    assert len(rows) == 2 and {"reward_emo_grpo", "distinct2", "answer_words"} <= set(rows[0])
    for exp in (sft, grpo):
        scores = json.loads((exp / "decode_src_test" / "scores.json").read_text())
        assert scores["task"] == "cap" and scores["num_utts"] == 12
        assert {"bleu4", "meteor", "rouge_l", "distinct2", "emo_f1"} <= set(scores)
    block = results_block(recipe)
    assert "| lalm | mini_sft_mini_answer | src_test | 1 |" in block
    assert "| lalm | mini_sft_mini_answer_grpo_emo | src_test | 1 |" in block
    assert "emo-F1" in block and "distinct-2" in block

    second = run(recipe, "--ablation_seeds", "", "--stage", "2")
    assert second.returncode == 0, second.stderr[-3000:]
    for unit in (sft, grpo, grpo / "decode_src_test"):
        assert f"skip {unit.relative_to(recipe)}: done with the same command" in second.stderr


@pytest.mark.slow
def test_ov1_think_format_with_dual_and_alignment_rewards(tmp_path):
    recipe = copy_recipe(ROOT / "egs" / "mini_emo" / "ov1", tmp_path / "ov1")
    shrink_configs(recipe)
    done = run(recipe, "--formats", "think", "--grpo_configs", "conf/lalm/grpo_ew_format_dual.yaml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    grpo = recipe / "exp" / "lalm_mini_sft_mini_think_grpo_ew_format_dual" / "seed1"
    rows = train_log(grpo)
    rewards = {"ew_f1", "ov_format", "dual_ew", "think_answer_alignment"}
    assert len(rows) == 2 and {f"reward_{r}" for r in rewards} | {"answer_words"} <= set(rows[0])
    scores = json.loads((grpo / "decode_src_test" / "scores.json").read_text())
    assert scores["task"] == "ov" and scores["num_utts"] == 12 and "ew_f" in scores
    block = results_block(recipe)
    assert "| lalm | mini_sft_mini_think | src_test | 1 |" in block
    assert "| lalm | mini_sft_mini_think_grpo_ew_format_dual | src_test | 1 |" in block


@pytest.mark.parametrize(
    "conf",
    [
        conf
        for recipe in ("cap1", "ov1")
        for conf in sorted((ROOT / "egs" / "mini_emo" / recipe / "conf" / "lalm").rglob("*.yaml"))
        if conf.name.startswith("grpo_") or conf.parent.name == "search"
    ],
    ids=lambda p: str(p.relative_to(ROOT / "egs" / "mini_emo")),
)
def test_cap_and_ov_grpo_configs_are_train_grpo_options_with_known_rewards(conf):
    """Every GRPO config of cap1 and ov1 (run.sh's and the src_dev searches') parses as options of
    emorl.bin.train_grpo, with rewards of the registry."""
    args = grpo_config_args(conf)
    spec = parse_reward_spec(with_format_option(args.rewards, "answer"))
    assert spec and set(spec) <= set(reward_names())
    assert args.max_steps > 0 and args.num_generations >= 2


@pytest.mark.parametrize(
    "conf",
    [
        conf
        for recipe in ("cap1", "ov1")
        for conf in sorted(
            (ROOT / "egs" / "mini_emo" / recipe / "conf" / "lalm").rglob("sft_*.yaml")
        )
    ],
    ids=lambda p: str(p.relative_to(ROOT / "egs" / "mini_emo")),
)
def test_cap_and_ov_sft_configs_are_train_sft_options(conf):
    """Every SFT config of cap1 and ov1 (run.sh's and the README searches') is a valid train_sft
    config of the mini model: projector and text model trained, the best step by dev loss."""
    task = {"cap1": "cap", "ov1": "ov"}[conf.relative_to(ROOT / "egs" / "mini_emo").parts[0]]
    config = sft_config(conf, "--task", task, "--format", "answer", "--model", "mini")
    assert config.trainable_parts() == ["projector", "text"] and config.select_metric == "dev_loss"
