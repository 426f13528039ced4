"""Stage 6 entry point: a run on a data dir writes model, logs and checkpoints; --resume continues;
a model dir of another architecture stops."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lalm"))
from lalm_fixtures import TEXTS, TINY_TEXT, save_tiny_whisper, synth_wave  # noqa: E402

from emorl.bin import export_grpo_checkpoint, train_grpo  # noqa: E402
from emorl.data.datadir import DataDir  # noqa: E402
from emorl.lalm.errors import LalmError  # noqa: E402
from emorl.lalm.model import AudioLM  # noqa: E402
from emorl.rl.grpo_run import export_checkpoint  # noqa: E402
from emorl.safe_load import CheckpointError  # noqa: E402

LABELS = {"u1": "angry", "u2": "sad", "u3": "happy", "u4": "angry"}


@pytest.fixture
def setup(tmp_path):
    whisper = save_tiny_whisper(tmp_path / "whisper.pt")
    lm = AudioLM.build_mini(TEXTS, whisper_checkpoint=whisper, vocab_size=400, **TINY_TEXT)
    lm.save(tmp_path / "init")
    (tmp_path / "wav").mkdir()
    wav_scp = {}
    for i, utt in enumerate(LABELS):
        wav_scp[utt] = str(tmp_path / "wav" / f"{utt}.wav")
        soundfile.write(wav_scp[utt], synth_wave(0.7 + 0.2 * i, seed=i), 16000)
    DataDir(wav_scp=wav_scp, utt2spk={u: "spk1" for u in LABELS}, utt2emo=LABELS).write(
        tmp_path / "data"
    )
    return tmp_path


def args_of(root: Path, *extra: str) -> list[str]:
    return [
        "--init_model", str(root / "init"), "--train_data", str(root / "data"),
        "--exp_dir", str(root / "exp"), "--task", "emo", "--format", "answer",
        "--label_set", "iemocap4",
        "--rewards", "{accuracy: 1, format: {weight: 1, format: answer}}",
        "--num_generations", "2", "--prompts_per_step", "2", "--max_completion_length", "4",
        "--max_steps", "2", "--save_steps", "1", "--lora_r", "2", *extra,
    ]  # fmt: skip


def test_run_writes_model_logs_and_resumes(setup):
    train_grpo.main(args_of(setup))
    exp = setup / "exp"
    task = json.loads((exp / "model" / "task.json").read_text())  # what decoding reads
    assert task["task"] == "emo" and task["format"] == "answer"
    assert task["label_set"] == ["angry", "happy", "neutral", "sad"]
    meta = json.loads((exp / "model" / "emorl_lalm.json").read_text())
    assert meta["lora"]["r"] == 2 and (exp / "model" / "adapter").is_dir()
    AudioLM.load(exp / "model")  # loads back
    with open(exp / "train_log.csv") as f:
        assert [r["step"] for r in csv.DictReader(f)] == ["1", "2"]
    last = exp / "checkpoints" / "step00000002.json"
    written = last.stat().st_mtime_ns
    train_grpo.main(args_of(setup, "--resume", "true"))  # same options: resumes, nothing to do
    assert last.stat().st_mtime_ns == written
    train_grpo.main(args_of(setup, "--max_steps", "3", "--resume", "true"))  # other options
    with open(exp / "train_log.csv") as f:
        assert [r["step"] for r in csv.DictReader(f)] == ["1", "2", "3"]  # started afresh


def test_model_dir_of_another_architecture_stops(setup):
    bert = setup / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"model_type": "bert"}))
    args = args_of(setup)
    args[args.index("--init_model") + 1] = str(bert)
    with pytest.raises(
        LalmError, match="bert: not a Qwen2-Audio model directory: model_type 'bert'"
    ):
        train_grpo.main(args)


def test_sft_model_dir_gives_task_format_labels_and_prompt(setup):
    task = {
        "task": "emo",
        "format": "think",
        "label_set": ["angry", "sad", "happy"],
        "prompt": "Hi?",
    }
    (setup / "init" / "task.json").write_text(json.dumps(task))
    args = args_of(setup)
    for option in ("--task", "--format", "--label_set"):  # taken from task.json
        at = args.index(option)
        del args[at : at + 2]
    train_grpo.main(args + ["--max_steps", "1"])
    assert json.loads((setup / "exp" / "model" / "task.json").read_text()) == task
    with pytest.raises(ValueError, match="--format answer contradicts .*task.json"):
        train_grpo.main(args + ["--format", "answer"])


def file_bytes(model_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(model_dir)): p.read_bytes()
        for p in sorted(model_dir.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def length_reward(scratch_reward):
    """A reward that differs within groups of the untrained model (the length of the completion),
    so that every step changes the weights; removed after the test."""
    scratch_reward(
        "test_length",
        lambda predictions, references, completions, **context: [
            float(len(c)) for c in completions
        ],
        needs=("completions",),
    )
    return ["--rewards", "{test_length: 1}"]


@pytest.mark.parametrize("lora", ["true", "false"])
def test_exported_checkpoint_is_the_model_of_a_run_that_stopped_there(setup, length_reward, lora):
    """Step 2 of a 3-step run, exported, is byte for byte the model/ of a 2-step run."""
    train_grpo.main(args_of(setup, "--max_steps", "3", "--lora", lora, *length_reward))
    short = setup / "short"
    train_grpo.main(args_of(setup, "--lora", lora, "--exp_dir", str(short), *length_reward))
    export_grpo_checkpoint.main(
        ["--exp_dir", str(setup / "exp"), "--step", "2", "--out_dir", str(setup / "step2")]
    )
    exported = file_bytes(setup / "step2")
    assert exported == file_bytes(short / "model")
    assert exported != file_bytes(setup / "exp" / "model")  # step 3 differs: the test can fail
    assert ("adapter/adapter_model.safetensors" in exported) == (lora == "true")


def test_export_names_missing_steps_and_a_changed_initial_model_and_takes_a_moved_one(setup):
    train_grpo.main(args_of(setup, "--max_steps", "3", "--lora", "false"))  # keeps steps 2, 3
    exp, out = setup / "exp", setup / "out"
    with pytest.raises(CheckpointError, match=r"no checkpoint of step 1 \(kept: \[2, 3\]\)"):
        export_checkpoint(exp, out, step=1)
    shutil.copytree(setup / "init", setup / "moved")
    config = setup / "init" / "config.json"
    config.write_text(config.read_text() + "\n")
    with pytest.raises(
        CheckpointError, match="init: not the initial model of .*init_model changed"
    ):
        export_checkpoint(exp, out)
    assert not out.exists()
    assert export_checkpoint(exp, out, init_model=setup / "moved") == 3  # the last step kept
    weights = "model.safetensors"
    assert (out / weights).read_bytes() == (exp / "model" / weights).read_bytes()
