"""Decoding an audio-LM over a data dir, the decode dir it writes, and scoring by task."""

from __future__ import annotations

import json

import pytest
import torch
from sft_fixtures import make_data_dir, tiny_config

from emorl.bin import decode_lalm
from emorl.bin import score as ser_score
from emorl.lalm.data import LalmDataset, read_model_task
from emorl.lalm.decode import decode_job, parse
from emorl.lalm.decode_dir import (
    UNPARSABLE,
    Decoded,
    job_utts,
    merge_decode_dir,
    read_decoded,
    write_lalm_decode_dir,
)
from emorl.lalm.score import score_decode_dir
from emorl.lalm.sft import build_model, save_best
from emorl.ser.decode_dir import read_posteriors


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_whisper):
    """An untrained tiny model saved as SFT saves its best model (with task.json)."""
    root = tmp_path_factory.mktemp("model")
    train = make_data_dir(root, "train", 6)
    config = tiny_config(tiny_whisper)
    lm = build_model(config, LalmDataset.from_dir(train, "emo", train / "targets"))
    save_best(lm, config, root / "model")
    return root / "model"


def test_decode_in_jobs_writes_a_scoreable_decode_dir(model_dir, tmp_path):
    data = make_data_dir(tmp_path, "test", 7, seed=50)
    (data / "targets").unlink()  # decoding needs no targets
    task = read_model_task(model_dir)
    for job in (1, 2):
        decode_job(model_dir, data, tmp_path / "two", task, nj=2, job=job, max_new_tokens=6)
    two = merge_decode_dir(data, tmp_path / "two", task, nj=2)
    decode_job(model_dir, data, tmp_path / "one", task, max_new_tokens=6, batch_size=3)
    one = merge_decode_dir(data, tmp_path / "one", task, nj=1)
    assert one == two  # neither the split nor the batching changes a greedy completion
    assert [d.utt for d in one] == sorted(d.utt for d in one) and len(one) == 7

    decode = tmp_path / "two"
    assert read_decoded(decode) == two
    assert (decode / "task").read_text() == "emo\n"
    assert len((decode / "hyp").read_text().splitlines()) == 7
    labels, posteriors = read_posteriors(decode)
    assert labels[-1] == UNPARSABLE and labels[:-1] == task["label_set"]
    assert all(p.sum() == 1 for p in posteriors.values())  # one-hot
    scores = score_decode_dir("emo", data, decode)
    assert scores["task"] == "ser" and scores["num_utts"] == 7
    # An untrained model's answers name no class: all unparsable, all wrong.
    assert scores["num_unparsable"] == sum(d.label is None for d in two)
    assert json.loads((decode / "scores.json").read_text())["num_unparsable"] >= 0
    # The classifier scorer reads the same dir (the report and B-GRPO's teacher do too).
    assert ser_score.score_decode_dir(data, decode)["ua"] == scores["ua"]


def test_the_decode_command_runs_a_job_on_its_threads(model_dir, tmp_path, monkeypatch):
    """A job uses --num_threads torch threads (1 by default: nj jobs share the cores)."""
    data = make_data_dir(tmp_path, "test", 4, seed=51)
    threads = []
    monkeypatch.setattr(torch, "set_num_threads", threads.append)
    out = tmp_path / "decode"
    for job in (1, 2):
        decode_lalm.main(["--model_dir", str(model_dir), "--data_dir", str(data), "--out_dir",
                          str(out), "--nj", "2", "--job", str(job), "--max_new_tokens", "4"]
                         + (["--num_threads", "3"] if job == 2 else []))  # fmt: skip
    decode_lalm.main(["--model_dir", str(model_dir), "--data_dir", str(data), "--out_dir",
                      str(out), "--nj", "2", "--merge", "true"])  # fmt: skip
    assert threads == [1, 3]
    assert len(read_decoded(out)) == 4


def test_unparsable_answers_count_as_wrong(tmp_path):
    data = make_data_dir(tmp_path, "test", 6)  # labels: angry fear happy neutral sad surprise
    labels = ["angry", "fear", "happy", "neutral", "sad", "surprise"]
    completions = [
        "<answer>angry</answer>",  # right
        "<answer>Fear.</answer>",  # right (case and punctuation ignored)
        "<answer>joy</answer>",  # a synonym of happy: right
        "<answer>bored</answer>",  # names no class: unparsable
        "<think>sad voice",  # truncated, no answer: unparsable
        "<answer>sad</answer>",  # wrong class (surprise)
    ]
    utts = sorted(LalmDataset.from_dir(data, "emo").utts)
    decoded = [parse(u, c, "answer", labels) for u, c in zip(utts, completions)]
    assert [d.label for d in decoded] == ["angry", "fear", "happy", None, None, "sad"]
    write_lalm_decode_dir(tmp_path / "decode", "emo", decoded, labels)
    scores = score_decode_dir("emo", data, tmp_path / "decode")
    assert scores["num_unparsable"] == 2
    assert scores["num_format_valid"] == 5
    assert scores["wa"] == pytest.approx(3 / 6)
    assert scores["ua"] == pytest.approx(3 / 6)  # one utterance per class: recall 1,1,1,0,0,0
    assert scores["per_class"][UNPARSABLE]["predicted"] == 2
    assert scores["per_class"][UNPARSABLE]["f1"] is None  # no reference: no F1 term of its own
    hyp = (tmp_path / "decode" / "hyp").read_text().splitlines()
    assert hyp[3] == f"{utts[3]} bored" and hyp[4] == utts[4]  # no answer: empty text


def test_caption_and_open_vocabulary_decode_dirs_are_scored_by_their_task(tmp_path):
    data = make_data_dir(tmp_path, "test", 6)
    utts = LalmDataset.from_dir(data, "cap").utts
    said = ["angry", "afraid", "happy", "calm", "sad", "sad"]
    caps = [Decoded(u, "", f"The speaker sounds {w}.", True) for u, w in zip(utts, said)]
    caps[5] = Decoded(utts[5], "garbage", None, False)
    write_lalm_decode_dir(tmp_path / "cap", "cap", caps)
    scores = score_decode_dir("cap", data, tmp_path / "cap")
    assert scores["task"] == "cap" and scores["num_utts"] == 6
    assert scores["num_empty"] == 1 and scores["num_format_valid"] == 5
    assert 0 < scores["bleu1"] < 100

    answers = ["angry", "scared, afraid", "joy", None, "sad", "sad"]
    words = [Decoded(u, "", a, a is not None) for u, a in zip(utts, answers)]
    write_lalm_decode_dir(tmp_path / "ov", "ov", words)
    scores = score_decode_dir("ov", data, tmp_path / "ov")
    assert scores["task"] == "ov" and scores["num_utts"] == 6 and scores["num_empty"] == 1
    assert 0 < scores["ew_f"] < 100


def test_jobs_split_the_utterances_in_contiguous_parts():
    utts = [f"u{i}" for i in range(10)]
    parts = [job_utts(utts, 3, j) for j in (1, 2, 3)]
    assert sum(parts, []) == utts and sorted(len(p) for p in parts) == [3, 3, 4]
    with pytest.raises(ValueError, match="job must be in 1..3"):
        job_utts(utts, 3, 4)


def test_merge_names_a_missing_job(model_dir, tmp_path):
    data = make_data_dir(tmp_path, "test", 4)
    task = read_model_task(model_dir)
    decode_job(model_dir, data, tmp_path / "d", task, nj=2, job=1, max_new_tokens=2)
    with pytest.raises(FileNotFoundError, match="split2/2.jsonl: missing; decoding job 2 of 2"):
        merge_decode_dir(data, tmp_path / "d", task, nj=2)
