"""The DeepSpeed file of ZeRO-3 SFT (emorl.train.zero.zero_config): "auto" values filled from the
trainer's options; a file that cannot run, or that contradicts the options, stops naming itself
and the key."""

from __future__ import annotations

import json

import pytest

from emorl.train.zero import ZeroConfigError, zero_config

OPTIONS = dict(
    micro_batch_per_process=2,
    grad_accum=3,
    world_size=4,
    max_grad_norm=0.5,
    bf16=False,
    hidden_size=64,
)


def write(tmp_path, config: dict):
    path = tmp_path / "ds.json"
    path.write_text(json.dumps(config))
    return path


def test_auto_and_missing_values_come_from_the_trainer(tmp_path):
    path = write(
        tmp_path,
        {
            "zero_optimization": {"stage": 3, "reduce_bucket_size": "auto"},
            "bf16": {"enabled": "auto"},
        },
    )
    ds = zero_config(path, **OPTIONS)
    assert ds["train_micro_batch_size_per_gpu"] == 2
    assert ds["gradient_accumulation_steps"] == 3
    assert ds["train_batch_size"] == 2 * 3 * 4
    assert ds["gradient_clipping"] == 0.5
    assert ds["bf16"]["enabled"] is False
    assert ds["zero_optimization"]["reduce_bucket_size"] == 64 * 64
    assert ds["zero_optimization"]["stage3_prefetch_bucket_size"] == int(0.9 * 64 * 64)
    assert ds["zero_optimization"]["stage3_param_persistence_threshold"] == 640
    assert ds["managed_gradient_accumulation"] is False  # the trainer accumulates


def test_explicit_values_that_agree_are_kept(tmp_path):
    path = write(tmp_path, {"zero_optimization": {"stage": 3}, "gradient_clipping": 0.5})
    assert zero_config(path, **OPTIONS)["gradient_clipping"] == 0.5


@pytest.mark.parametrize(
    "config, words",
    [
        ({"zero_optimization": {"stage": 2}}, ["stage is 2, not 3"]),
        (
            {"zero_optimization": {"stage": 3, "offload_optimizer": {"device": "cpu"}}},
            ["offload_optimizer"],
        ),
        ({"zero_optimization": {"stage": 3}, "fp16": {"enabled": True}}, ["fp16"]),
        (
            {"zero_optimization": {"stage": 3}, "gradient_clipping": 1.0},
            ["gradient_clipping", "0.5"],
        ),
        ({"zero_optimization": {"stage": 3}, "bf16": {"enabled": True}}, ["bf16.enabled"]),
        ({"zero_optimization": {"stage": 3}, "gradient_accumulation_steps": 2}, ["accumulation"]),
    ],
)
def test_a_file_that_cannot_run_or_contradicts_the_options_names_itself(tmp_path, config, words):
    path = write(tmp_path, config)
    with pytest.raises(ZeroConfigError) as e:
        zero_config(path, **OPTIONS)
    assert str(path) in str(e.value)
    for word in words:
        assert word in str(e.value)


def test_a_file_that_is_not_json_names_itself(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text("{stage: 3")
    with pytest.raises(ZeroConfigError, match="ds.json: not a readable DeepSpeed JSON"):
        zero_config(path, **OPTIONS)
