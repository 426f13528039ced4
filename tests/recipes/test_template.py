"""egs/TEMPLATE/emo1/emo.sh: stage selection, .done skipping and redoing, clear failures."""

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from emorl.data.datadir import DataDir

ROOT = Path(__file__).resolve().parents[2]

FAKE_DATA_SH = """#!/usr/bin/env bash
# A fake corpus: counts its runs, writes one small valid data dir.
set -euo pipefail
echo "$*" >> runs.txt
python3 - <<'EOF'
import numpy as np, soundfile
from emorl.data.datadir import DataDir
wav = {}
for i in range(4):
    path = f"{__import__('os').getcwd()}/w{i}.wav"
    soundfile.write(path, np.full(1600, 0.1, dtype=np.float32), 16000)
    wav[f"s{i % 2}-u{i}"] = path
DataDir(wav_scp=wav, utt2spk={u: u[:2] for u in wav},
        utt2emo={u: ["happy", "sad"][i % 2] for i, u in enumerate(sorted(wav))}).write("data/train")
EOF
"""


@pytest.fixture
def recipe(tmp_path):
    """A recipe dir linked to the real template and utils, with a fake local/data.sh."""
    (tmp_path / "local").mkdir()
    for name in ("emo.sh", "path.sh"):
        (tmp_path / name).symlink_to(ROOT / "egs" / "TEMPLATE" / "emo1" / name)
    (tmp_path / "utils").symlink_to(ROOT / "utils")
    (tmp_path / "cmd.sh").write_text((ROOT / "egs" / "TEMPLATE" / "emo1" / "cmd.sh").read_text())
    data_sh = tmp_path / "local" / "data.sh"
    data_sh.write_text(FAKE_DATA_SH)
    data_sh.chmod(0o755)
    return tmp_path


def emo(recipe, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        ["bash", "emo.sh", "--label_set", "iemocap4", "--train_set", "train", *args],
        cwd=recipe,
        capture_output=True,
        text=True,
        env=env,
    )


def test_stage1_runs_once_then_skips_then_redoes_when_forced_or_changed(recipe):
    first = emo(recipe, "--stage", "1", "--stop_stage", "1")
    assert first.returncode == 0, first.stderr
    assert (recipe / "data" / "train" / "spk2utt").is_file()
    assert (recipe / "data" / ".done").is_file()
    assert (recipe / "data" / "log" / "command.sh").read_text().strip() == "local/data.sh"
    again = emo(recipe, "--stage", "1", "--stop_stage", "1")
    assert again.returncode == 0 and "skip data: done with the same command" in again.stderr
    assert (recipe / "runs.txt").read_text().splitlines() == [""]
    forced = emo(recipe, "--stage", "1", "--stop_stage", "1", "--force", "true")
    changed = emo(recipe, "--stage", "1", "--stop_stage", "1", "--local_data_opts", "--size ci")
    assert forced.returncode == 0 and changed.returncode == 0
    assert (recipe / "runs.txt").read_text().splitlines() == ["", "", "--size ci"]


def test_failed_unit_leaves_no_done_marker(recipe):
    (recipe / "local" / "data.sh").write_text("#!/usr/bin/env bash\nexit 3\n")
    result = emo(recipe, "--stage", "1", "--stop_stage", "1")
    assert result.returncode != 0
    assert not (recipe / "data" / ".done").exists()


def test_lalm_stages_need_lalm_sh_and_can_be_skipped(recipe):
    result = emo(recipe, "--stage", "5", "--stop_stage", "5")
    assert result.returncode == 1
    assert "stages 5-7 need ./lalm.sh (a link to egs/TEMPLATE/lalm1/lalm.sh)" in result.stderr
    skipped = emo(recipe, "--stage", "5", "--stop_stage", "7", "--skip_lalm", "true")
    assert skipped.returncode == 0, skipped.stderr
    adapt = emo(recipe, "--stage", "4", "--stop_stage", "4", "--skip_adapt", "true")
    assert adapt.returncode == 0 and "Stage 4" not in adapt.stderr


def test_unknown_option_is_named(recipe):
    result = emo(recipe, "--stage", "1", "--no_such_option", "x")
    assert result.returncode != 0
    assert "no_such_option" in result.stderr


def test_label_set_is_required(recipe):
    result = subprocess.run(["bash", "emo.sh"], cwd=recipe, capture_output=True, text=True)
    assert result.returncode != 0 and "--label_set is required" in result.stderr


FOLD_DATA_SH = """#!/usr/bin/env bash
# A fake speaker-fold corpus: fold<N>_{train,dev,test} of 16 short utterances each, 2 classes.
set -euo pipefail
python3 - <<'EOF'
import os
import numpy as np, soundfile
from emorl.data.datadir import DataDir
rng = np.random.default_rng(0)
for fold in (1, 2):
    for part in ("train", "dev", "test"):
        wav, emo = {}, {}
        for i in range(16):
            utt = f"f{fold}{part}-s{i % 2}-u{i:02d}"
            path = f"{os.getcwd()}/{utt}.wav"
            tone = np.sin(np.arange(3200) * (0.05 if i % 2 else 0.2)) * 0.3
            soundfile.write(path, (tone + rng.normal(0, 0.01, 3200)).astype(np.float32), 16000)
            wav[utt], emo[utt] = path, ["happy", "sad"][i % 2]
        DataDir(wav_scp=wav, utt2spk={u: u.rsplit("-", 1)[0] for u in wav},
                utt2emo=emo).write(f"data/fold{fold}_{part}")
EOF
"""

SMALL_SER = "pooling: stats\nhidden_dims: [8]\nmax_epochs: 2\nbatch_size: 8\nlr: 0.01\n"


@pytest.fixture
def fold_recipe(recipe):
    (recipe / "local" / "data.sh").write_text(FOLD_DATA_SH)
    (recipe / "conf" / "upstream").mkdir(parents=True)
    (recipe / "conf" / "ser.yaml").write_text(SMALL_SER)
    fbank(recipe, cmvn="false", bins=80)
    return recipe


def fbank(recipe, cmvn, bins):
    (recipe / "conf" / "upstream" / "fbank.yaml").write_text(
        f"pooling: none\nfbank_num_mel_bins: {bins}\nfbank_cmvn: {cmvn}\n"
    )


def folds(recipe, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        ["bash", "emo.sh", "--label_set", "iemocap4", "--upstream", "fbank", "--nj", "1",
         "--fold", "1", "--skip_adapt", "true", "--skip_lalm", "true", "--stop_stage", "3", *args],
        cwd=recipe, capture_output=True, text=True, env=env,
    )  # fmt: skip


def last_run(exp_dir):
    """train.log (appended by every run) of the last run."""
    return (exp_dir / "train.log").read_text().split("command:")[-1]


@pytest.mark.slow
def test_a_changed_dump_redoes_what_reads_it_and_force_never_resumes(fold_recipe):
    """Stale result 2: fbank_cmvn false -> true leaves feats.scp byte-identical; the training and
    decoding that read the dump are redone. 80 -> 40 mel bins retrains instead of crashing on the
    old checkpoint. --force true trains from scratch. --fold 2 selects the fold's sets and dir."""
    first = folds(fold_recipe)
    assert first.returncode == 0, first.stderr[-3000:]
    ser = fold_recipe / "exp/fold1/fbank/ser_ser/seed1"
    scp = (fold_recipe / "dump/fbank/fold1_train/feats.scp").read_text()
    model = (ser / "model.pt").read_bytes()
    scores = (ser / "decode_fold1_test/scores.json").read_text()

    fbank(fold_recipe, cmvn="true", bins=80)
    cmvn = folds(fold_recipe, "--stage", "2")
    assert cmvn.returncode == 0, cmvn.stderr[-3000:]
    assert (fold_recipe / "dump/fbank/fold1_train/feats.scp").read_text() == scp
    assert "skip exp/fold1/fbank/ser_ser/seed1:" not in cmvn.stderr
    assert "skip exp/fold1/fbank/ser_ser/seed1/decode_fold1_test:" not in cmvn.stderr
    assert "other inputs (dev_feats:" in last_run(ser)
    assert (ser / "model.pt").read_bytes() != model
    assert (ser / "decode_fold1_test/scores.json").read_text() != scores

    fbank(fold_recipe, cmvn="true", bins=40)
    fewer_bins = folds(fold_recipe, "--stage", "2")
    assert fewer_bins.returncode == 0, fewer_bins.stderr[-3000:]
    assert "other inputs (dev_feats:" in last_run(ser)

    forced = folds(fold_recipe, "--stage", "3", "--force", "true")
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert "--resume false" in last_run(ser) and "resuming" not in last_run(ser)
    again = folds(fold_recipe, "--stage", "3")  # a forced run leaves a .done that a rerun accepts
    assert "skip exp/fold1/fbank/ser_ser/seed1: done" in again.stderr

    fold2 = folds(fold_recipe, "--stage", "2", "--fold", "2")
    assert fold2.returncode == 0, fold2.stderr[-3000:]
    assert (fold_recipe / "exp/fold2/fbank/ser_ser/seed1/decode_fold2_test/scores.json").is_file()


SMALL_ADAPT = "method: bgrpo\nrewards: {self_max_prob: 1.0}\nrenormalize: true\nkl_coef: 0.3\n"
SMALL_ADAPT += "source_ce_coef: 0.5\nsource_batch_size: 2\nepochs: 1\nbatch_size: 4\nlr: 0.001\n"


def second_started_before_first_ended(exp: Path) -> bool:
    """Whether the second stage-4 unit started training before the first had scored."""
    started = (exp / "adapt_adapt_lr_lab0.25/seed1/config.yaml").stat().st_mtime
    return (
        started < (exp / "adapt_adapt_lab0.25/seed1/decode_fold1_test/scores.json").stat().st_mtime
    )


@pytest.mark.slow
def test_labeled_fraction_trains_few_label_model_and_adapts_on_the_rest(fold_recipe, monkeypatch):
    """--labeled_fraction: stage 3 trains the oracle and the few-label model, stage 4 adapts the
    few-label model on the rest of the training set, whose data dir has no utt2emo. Stage 4 runs
    with --adapt_jobs 2: its units (config x seed) two at once, which write the models and
    decodings of one at a time with as many threads (one here: a job's share of 2 cores; with 2
    the last bits of the weights may differ); a failed unit stops the stage."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    (fold_recipe / "conf" / "adapt.yaml").write_text(SMALL_ADAPT)
    (fold_recipe / "conf" / "adapt_lr.yaml").write_text(SMALL_ADAPT.replace("0.001", "0.002"))
    configs = "conf/adapt.yaml conf/adapt_lr.yaml"
    opts = ["--labeled_fraction", "0.25", "--adapt_configs", configs, "--adapt_jobs", "2"]
    first = folds(fold_recipe, "--skip_adapt", "false", "--stop_stage", "4", *opts)
    assert first.returncode == 0, first.stderr[-3000:]
    lab = DataDir.load(fold_recipe / "data/fold1_train_lab0.25_seed1")
    unlab = DataDir.load(fold_recipe / "data/fold1_train_unlab0.25_seed1")
    assert len(lab.utts) == 4 and len(unlab.utts) == 12
    assert set(lab.utt2spk.values()) == {"f1train-s0", "f1train-s1"}
    assert set(lab.utt2emo.values()) == {"happy", "sad"}
    assert unlab.utt2emo is None
    exp = fold_recipe / "exp/fold1/fbank"
    for system in ("ser_ser", "ser_ser_lab0.25", "adapt_adapt_lab0.25"):
        assert (exp / system / "seed1/decode_fold1_test/scores.json").is_file(), system
    config = yaml.safe_load((exp / "adapt_adapt_lab0.25/seed1/config.yaml").read_text())
    assert config["init_model"] == "exp/fold1/fbank/ser_ser_lab0.25/seed1"
    assert config["unlabeled_data"] == "data/fold1_train_unlab0.25_seed1"
    assert config["source_data"] == "data/fold1_train_lab0.25_seed1"

    again = folds(fold_recipe, "--skip_adapt", "false", "--stage", "3", "--stop_stage", "4", *opts)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "skip exp/fold1/fbank/adapt_adapt_lab0.25/seed1: done" in again.stderr
    assert "skip dump/fbank/fold1_train_lab0.25_seed1: done" in again.stderr

    files = [
        exp / system / "seed1" / f
        for system in ("adapt_adapt_lab0.25", "adapt_adapt_lr_lab0.25")
        for f in ("model.pt", "decode_fold1_test/scores.json")
    ]
    in_parallel = [f.read_bytes() for f in files]
    assert second_started_before_first_ended(exp)
    one = folds(fold_recipe, "--skip_adapt", "false", "--stage", "4", "--stop_stage", "4", *opts,
                "--adapt_jobs", "1", "--force", "true")  # fmt: skip
    assert one.returncode == 0, one.stderr[-3000:]
    assert "skip exp/fold1/fbank/adapt_" not in one.stderr  # redone, not skipped
    assert [f.read_bytes() for f in files] == in_parallel
    assert not second_started_before_first_ended(exp)

    (fold_recipe / "conf" / "broken.yaml").write_text("method: no_such_method\n")
    opts[opts.index(configs)] = "conf/broken.yaml conf/adapt.yaml"
    broken = folds(fold_recipe, "--skip_adapt", "false", "--stage", "4", "--stop_stage", "4", *opts)
    assert broken.returncode != 0
    assert "Error: a parallel job failed" in broken.stderr
