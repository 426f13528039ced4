"""The mini recipe's audio-LM stages (5-8: lalm.sh --task emo) at the smallest size."""

import json
import math
import os
import subprocess
from pathlib import Path

import pytest
from recipe_copy import TINY_SFT, copy_recipe, grpo_config_args, sft_config

from emorl.data.corpora import mini_emo
from emorl.rl.grpo_trainer import with_format_option
from emorl.rl.rewards import parse_reward_spec

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "mini_emo" / "emo1"
# Two GRPO steps of 2 prompts x 2 completions with the recipe's ESWR rewards.
TINY_GRPO = """rewards: {eswr: {weight: 1.0}, format: 0.2}
num_generations: 2
prompts_per_step: 2
max_completion_length: 8
max_steps: 2
save_steps: 1
lora: false
"""
LALM = (
    "--lalm_model mini --lalm_format answer --sft_config conf/lalm/sft_tiny.yaml"
    " --grpo_configs conf/lalm/grpo_tiny.yaml"
)


def run(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["./run.sh", "--size", "tiny", "--seeds", "1", "--eval_sets", "src_test", *args],
        cwd=recipe,
        capture_output=True,
        text=True,
        env={**os.environ, "MINI_EMO": str(recipe / "db")},
    )


def tiny_recipe(tmp_path: Path, data: bool = True) -> Path:
    """A copy of the recipe with the tiny SFT and GRPO configs; with ``data``, after stage 1."""
    recipe = copy_recipe(RECIPE, tmp_path / "emo1")
    (recipe / "conf" / "lalm" / "sft_tiny.yaml").write_text(TINY_SFT)
    (recipe / "conf" / "lalm" / "grpo_tiny.yaml").write_text(TINY_GRPO)
    if data:
        stage1 = run(recipe, "--stage", "1", "--stop_stage", "1")
        assert stage1.returncode == 0, stage1.stderr[-3000:]
    return recipe


@pytest.mark.slow
def test_lalm_stages_sft_decode_score_report_and_rerun_for_free(tmp_path):
    recipe = tiny_recipe(tmp_path)

    first = run(recipe, "--stage", "5", "--stop_stage", "8", "--lalm_opts", LALM)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    targets = recipe / "dump" / "lalm_targets" / "emo_answer"
    assert (targets / "src_train" / "targets").read_text().count("<answer>") == 36
    exp = recipe / "exp" / "lalm_mini_sft_tiny_answer" / "seed1"
    assert (exp / "model" / "task.json").is_file() and (exp / "train_log.csv").is_file()
    decode = exp / "decode_src_test"
    scores = json.loads((decode / "scores.json").read_text())
    assert scores["task"] == "ser" and scores["num_utts"] == 12
    assert 0 <= scores["num_unparsable"] <= 12 and "ua" in scores
    assert len((decode / "completions.jsonl").read_text().splitlines()) == 12
    readme = (recipe / "README.md").read_text()
    block = readme.split("<!-- RESULTS START -->")[1].split("<!-- RESULTS END -->")[0]
    assert "| lalm | mini_sft_tiny_answer | src_test | 1 |" in block
    grpo = recipe / "exp" / "lalm_mini_sft_tiny_answer_grpo_tiny" / "seed1"
    assert len((grpo / "train_log.csv").read_text().splitlines()) == 1 + 2  # header + 2 steps
    assert (grpo / "model" / "task.json").is_file()
    assert json.loads((grpo / "decode_src_test" / "scores.json").read_text())["num_utts"] == 12
    assert "| lalm | mini_sft_tiny_answer_grpo_tiny | src_test | 1 |" in block

    second = run(recipe, "--stage", "5", "--stop_stage", "7", "--lalm_opts", LALM)
    assert second.returncode == 0, second.stderr[-3000:]
    for unit in ("dump/lalm_targets/emo_answer/src_train", str(exp.relative_to(recipe)),
                 str(decode.relative_to(recipe)), str(grpo.relative_to(recipe))):  # fmt: skip
        assert f"skip {unit}: done with the same command" in second.stderr

    # A changed SFT config retrains, and the decodes of the new model are redone.
    conf = recipe / "conf" / "lalm" / "sft_tiny.yaml"
    conf.write_text(conf.read_text().replace("batch_size: 8", "batch_size: 6"))
    third = run(recipe, "--stage", "5", "--stop_stage", "7", "--lalm_opts", LALM)
    assert third.returncode == 0, third.stderr[-3000:]
    assert f"skip {exp.relative_to(recipe)}:" not in third.stderr
    assert f"skip {decode.relative_to(recipe)}:" not in third.stderr
    assert f"skip {grpo.relative_to(recipe)}:" not in third.stderr  # its initial model changed


@pytest.mark.slow
def test_emorl_grid_runs_every_grpo_config_on_every_format_and_reports_them(tmp_path):
    """--emorl_grid true: the main comparison (esr), then each grid config on each grid format;
    stage 8 pairs every GRPO run with its SFT model and tabulates the end of its reward."""
    recipe = tiny_recipe(tmp_path, data=False)
    (recipe / "conf" / "lalm" / "grpo_tiny_acc.yaml").write_text(
        TINY_GRPO.replace("eswr: {weight: 1.0}", "accuracy: 1.0")
    )
    grid = run(
        recipe, "--skip_adapt", "true", "--sft_config", "conf/lalm/sft_tiny.yaml",
        "--grpo_main", "conf/lalm/grpo_tiny.yaml", "--emorl_grid", "true",
        "--grpo_grid", "conf/lalm/grpo_tiny_acc.yaml conf/lalm/grpo_tiny.yaml",
        "--grid_formats", "answer esr",
    )  # fmt: skip
    assert grid.returncode == 0, grid.stdout[-3000:] + grid.stderr[-3000:]
    exps = sorted(p.name for p in (recipe / "exp").glob("lalm_*"))
    grpo = ("", "_grpo_tiny", "_grpo_tiny_acc")
    assert exps == [f"lalm_mini_sft_tiny_{f}{g}" for f in ("answer", "esr") for g in grpo]
    acc = recipe / "exp" / "lalm_mini_sft_tiny_answer_grpo_tiny_acc" / "seed1" / "train_log.csv"
    assert "reward_accuracy" in acc.read_text().splitlines()[0]
    main = "exp/lalm_mini_sft_tiny_esr_grpo_tiny/seed1"
    assert f"skip {main}: done" in grid.stderr  # the main comparison is not redone
    block = (recipe / "README.md").read_text().split("<!-- RESULTS START -->")[1]
    paired = block.split("paired differences over seeds")[1].split("###")[0]
    stability = block.split("### GRPO training")[1].split("###")[0]
    for exp in exps:
        if "grpo" in exp:
            assert f"| - | {exp.removeprefix('lalm_')} | src_test | 1 |" in paired
            assert f"| {exp} | 1 | 2 | 2 |" in stability
        assert f"| lalm | {exp.removeprefix('lalm_')} | src_test | 1 |" in block


@pytest.mark.slow
def test_ngpu_2_starts_sft_and_grpo_as_two_processes(tmp_path):
    """--ngpu 2 on a machine without GPUs: torchrun starts 2 CPU processes (gloo) per training."""
    recipe = tiny_recipe(tmp_path)

    both = run(recipe, "--stage", "5", "--stop_stage", "6", "--ngpu", "2", "--lalm_opts", LALM)
    assert both.returncode == 0, both.stdout[-3000:] + both.stderr[-3000:]
    sft = recipe / "exp" / "lalm_mini_sft_tiny_answer" / "seed1"
    grpo = recipe / "exp" / "lalm_mini_sft_tiny_answer_grpo_tiny" / "seed1"
    for exp in (sft, grpo):
        command = (exp / "log" / "command.sh").read_text()
        assert "torchrun --standalone --nproc_per_node 2 -m emorl.bin.train_" in command
        assert (exp / "model" / "task.json").is_file()
    # 36 utterances in batches of 8: 5 steps, logged once (by rank 0)
    assert len((sft / "train_log.csv").read_text().splitlines()) == 1 + 5
    assert len((grpo / "train_log.csv").read_text().splitlines()) == 1 + 2


@pytest.mark.slow
def test_sft_fraction_trains_sft_on_a_split_and_grpo_on_the_whole_set(tmp_path):
    """--sft_fraction 0.5 (cold start): SFT on a stratified half of src_train, GRPO on all of it."""
    recipe = tiny_recipe(tmp_path)

    opts = LALM + " --sft_fraction 0.5"
    first = run(recipe, "--stage", "5", "--stop_stage", "6", "--lalm_opts", opts)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    split = recipe / "dump" / "lalm_targets" / "emo_answer" / "src_train_frac0.5_seed1"
    half = (split / "data" / "utt2emo").read_text().splitlines()
    rest = (split / "rest" / "utt2spk").read_text().splitlines()
    assert len(half) == len(rest) == 18
    assert len({line.split()[1] for line in half}) == 6  # every class is in the SFT half
    sft = recipe / "exp" / "lalm_mini_sft_tiny_answer_frac0.5" / "seed1"
    assert len((sft / "train_log.csv").read_text().splitlines()) == 1 + 3  # 18 utts, batches of 8
    assert f"--train_data {split.relative_to(recipe)}/data " in (sft / "log/command.sh").read_text()
    grpo = recipe / "exp" / "lalm_mini_sft_tiny_answer_frac0.5_grpo_tiny" / "seed1"
    assert "--train_data data/src_train " in (grpo / "log" / "command.sh").read_text()
    assert (grpo / "model" / "task.json").is_file()

    again = run(recipe, "--stage", "5", "--stop_stage", "6", "--lalm_opts", opts)
    assert again.returncode == 0, again.stderr[-3000:]
    for unit in (split, sft, grpo):
        assert f"skip {unit.relative_to(recipe)}: done with the same command" in again.stderr

    # A table the split copies (here the transcripts) changes: the split is redone.
    text = recipe / "data" / "src_train" / "text"
    text.write_text(text.read_text().replace("\n", " again\n", 1))
    third = run(recipe, "--stage", "5", "--stop_stage", "5", "--lalm_opts", opts)
    assert third.returncode == 0, third.stderr[-3000:]
    assert f"skip {split.relative_to(recipe)}:" not in third.stderr
    copies = [(split / part / "text").read_text() for part in ("data", "rest")]
    assert sum(copy.count(" again\n") for copy in copies) == 1


def test_lalm_sh_names_a_bad_task_and_missing_sets(tmp_path):
    recipe = copy_recipe(RECIPE, tmp_path / "emo1")

    def lalm(*args):
        return subprocess.run(["./lalm.sh", *args], cwd=recipe, capture_output=True, text=True)

    bad = lalm("--task", "asr")
    assert bad.returncode == 1 and "--task must be emo, cap or ov, not 'asr'" in bad.stderr
    no_labels = lalm("--task", "emo")
    assert no_labels.returncode == 1 and "--task emo needs --label_set" in no_labels.stderr
    no_sets = lalm("--task", "cap", "--train_set", "src_train")
    assert no_sets.returncode == 1 and "--dev_set is required" in no_sets.stderr


@pytest.mark.parametrize(
    "conf",
    sorted((RECIPE / "conf" / "lalm").rglob("grpo_*.yaml"))
    + sorted((RECIPE / "conf" / "lalm" / "search").glob("*.yaml")),
    ids=lambda p: str(p.relative_to(RECIPE)),
)
def test_grpo_configs_are_train_grpo_options_with_known_rewards(conf):
    """Every GRPO config of the recipe (run.sh's and the src_dev search's) parses as options of
    emorl.bin.train_grpo, with rewards of the registry; run.sh names the main and grid ones."""
    args = grpo_config_args(conf)
    spec = parse_reward_spec(with_format_option(args.rewards, "esr"))
    assert {"format"} < set(spec) <= {"format", "eswr", "accuracy"}
    assert args.num_generations * args.prompts_per_step >= 16
    smollm2 = conf.stem.endswith("_smollm2")
    assert args.lora == smollm2  # the mini text model is trained whole, SmolLM2 through LoRA
    if conf.parent.name == "lalm":  # the mini_smollm2 rows are run by the README's command
        named_in = RECIPE / ("README.md" if smollm2 else "run.sh")
        assert f"conf/lalm/{conf.name}" in named_in.read_text()


@pytest.mark.parametrize(
    "conf",
    sorted((RECIPE / "conf" / "lalm").glob("sft_*.yaml"))
    + sorted((RECIPE / "conf" / "lalm" / "search" / "sft").glob("*.yaml")),
    ids=lambda p: str(p.relative_to(RECIPE)),
)
def test_sft_configs_are_train_sft_options_of_their_model_kind(conf):
    """conf/lalm/sft_<kind>.yaml is a valid train_sft config of the model kind run.sh's
    --lalm_model <kind> picks it for: the mini text model trains whole, SmolLM2 through LoRA.
    The SFT variants of the README's searches (conf/lalm/search/sft/) are mini ones."""
    kind = "mini" if conf.parent.name == "sft" else conf.stem.removeprefix("sft_")
    config = sft_config(conf, "--task", "emo", "--format", "esr", "--label_set", "mini_emo",
                        "--model", kind)  # fmt: skip
    trained = {"mini": ["projector", "text"], "mini_smollm2": ["projector", "lora"]}[kind]
    assert config.trainable_parts() == trained and config.select_metric == "dev_accuracy"


@pytest.fixture(scope="module")
def src_train_utterances():
    """The number of src_train utterances of the mini corpus at the default and large sizes."""
    sizes = ("default", "large")
    return {size: sum(u.split == "src_train" for u in mini_emo.plan(size)) for size in sizes}


@pytest.mark.parametrize(
    "recipe, evals, saves", [("emo1", 108, 54), ("ov1", 54, 54), ("cap1", 54, 54)]
)
def test_mini_sft_config_counts_epochs_so_that_it_fits_every_corpus_size(
    recipe, evals, saves, src_train_utterances
):
    """sft_mini.yaml scores the dev set and saves after whole epochs: at the default size after
    the steps its README's results were made with (when it counted steps), at --size large after
    the same epochs, 4 times as many steps (the README's large runs used a copy of it with those
    counts)."""
    config = sft_config(
        ROOT / "egs" / "mini_emo" / recipe / "conf" / "lalm" / "sft_mini.yaml",
        "--task", "emo", "--format", "esr", "--label_set", "mini_emo",
    )  # fmt: skip
    for size, utterances in src_train_utterances.items():
        growth = mini_emo.SIZES[size] // mini_emo.SIZES["default"]
        micro_per_epoch = math.ceil(utterances / config.batch_size)
        assert config.eval_and_save_steps(micro_per_epoch) == (growth * evals, growth * saves)
