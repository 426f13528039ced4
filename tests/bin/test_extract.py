"""emorl.bin.extract and emorl.bin.merge_feats as stage 2 of a recipe calls them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import whisper
import yaml

from emorl import cli
from emorl.bin import extract, merge_feats
from emorl.data.datadir import DataDir
from emorl.data.feats import read_feats
from emorl.upstream import OPTIONS, family_of


@pytest.fixture
def data_dir(tmp_path):
    wav_scp = {}
    for i, seconds in enumerate([1.0, 1.7, 0.6, 2.2, 1.2]):
        t = np.arange(int(seconds * 16000)) / 16000
        path = tmp_path / f"u{i}.wav"
        soundfile.write(
            path, (0.3 * np.sin(2 * np.pi * (120 + 40 * i) * t)).astype(np.float32), 16000
        )
        wav_scp[f"u{i}"] = str(path)
    DataDir(wav_scp=wav_scp, utt2spk={u: "s" for u in wav_scp}).write(tmp_path / "data")
    return tmp_path / "data"


def run_stage2(data_dir, out_dir, nj, *options):
    for job in range(1, nj + 1):
        extract.main([*options, "--data_dir", str(data_dir), "--out_dir", str(out_dir),
                      "--nj", str(nj), "--job", str(job)])  # fmt: skip
    merge_feats.main(["--data_dir", str(data_dir), "--out_dir", str(out_dir), "--nj", str(nj)])
    return read_feats(out_dir)


def test_fbank_two_jobs_with_a_config_file(data_dir, tmp_path):
    conf = tmp_path / "fbank.yaml"
    conf.write_text(
        yaml.safe_dump({"fbank_num_mel_bins": 40, "pooling": "mean_std", "layers": "all"})
    )
    info, feats = run_stage2(
        data_dir, tmp_path / "dump", 2, "--upstream", "fbank", "--config", str(conf)
    )
    assert (info.upstream, info.dim, info.pooling, info.frame_rate) == (
        "fbank",
        80,
        "mean_std",
        None,
    )
    assert info.extra["upstream_options"] == {"fbank_num_mel_bins": 40}
    assert sorted(feats) == ["u0", "u1", "u2", "u3", "u4"]
    assert all(f.shape == (1, 1, 80) for f in feats.values())
    saved = yaml.safe_load((tmp_path / "dump" / "split2" / "config.2.yaml").read_text())
    assert saved["job"] == 2 and saved["fbank_num_mel_bins"] == 40


def test_whisper_from_upstream_path_in_30s_mode(data_dir, tmp_path):
    dims = whisper.model.ModelDimensions(80, 1500, 32, 2, 2, 16, 4, 32, 2, 1)
    model = whisper.model.Whisper(dims)
    torch.nn.init.zeros_(model.decoder.positional_embedding)
    torch.save({"dims": vars(dims), "model_state_dict": model.state_dict()}, tmp_path / "w.pt")
    info, feats = run_stage2(
        data_dir, tmp_path / "dump", 1, "--upstream", "whisper_tiny.en", "--upstream_path",
        str(tmp_path / "w.pt"), "--whisper_pad30", "true", "--layers", "1,2", "--dtype", "float16",
    )  # fmt: skip
    assert (info.layers, info.dim, info.frame_rate, info.dtype) == ([1, 2], 32, 50.0, "float16")
    assert info.extra["upstream"]["pad30"] is True
    assert feats["u3"].shape == ((35200 // 160 + 1) // 2, 2, 32)


def test_unknown_upstream_and_foreign_options_are_usage_errors(data_dir, tmp_path, capsys):
    common = ["--data_dir", str(data_dir), "--out_dir", str(tmp_path / "d")]
    with pytest.raises(SystemExit) as err:
        extract.main(["--upstream", "wavlm", *common])
    assert err.value.code == 2
    assert (
        "unknown upstream 'wavlm'; valid names: fbank, egemaps, whisper_tiny.en"
        in capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        extract.main(["--upstream", "fbank", "--whisper_pad30", "true", *common])
    assert "['whisper_pad30'] do not apply to upstream fbank" in capsys.readouterr().err


def test_merge_without_finished_jobs_names_the_job(data_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="job 1 of 2 has not finished"):
        merge_feats.main(
            ["--data_dir", str(data_dir), "--out_dir", str(tmp_path / "d"), "--nj", "2"]
        )


def test_list_names_from_the_command_line():
    out = subprocess.run(
        [sys.executable, "-m", "emorl.bin.extract", "--upstream", "list"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    names = [line.split()[0] for line in out.splitlines()]
    assert {"fbank", "egemaps", "whisper_base", "wavlm_large", "hf:<dir>"} <= set(names)


CONF = Path(__file__).resolve().parents[2] / "egs" / "mini_emo" / "emo1" / "conf" / "upstream"


@pytest.mark.parametrize("conf", sorted(CONF.glob("*.yaml")), ids=lambda p: p.name)
def test_recipe_upstream_configs_are_extract_options(conf):
    args = cli.parse_args(extract.get_parser(), ["--upstream", "x", "--config", str(conf)])
    given = {o.name for o in OPTIONS if getattr(args, o.name) is not None}
    if conf.stem != "hf":
        upstream = conf.stem.removesuffix("_pad30")
        assert {o.family for o in OPTIONS if o.name in given} <= {family_of(upstream)}
    assert args.pooling in ("none", "mean_std") and args.layers == "all"
