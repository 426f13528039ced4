"""Greedy decoding of an SFT'd (or GRPO'd) audio-LM over a data dir, in batches and jobs.

The model dir holds ``task.json`` (task, format, label set, prompt: written by SFT), so decoding
prompts and parses exactly as the model was trained. Utterances are batched by duration; each
batch's audio is encoded once and its completions generated together with a KV cache. Results go to
a decode dir (:mod:`emorl.lalm.decode_dir`); with ``nj`` jobs each job decodes its share of the
utterances (sorted, in contiguous parts) and :func:`emorl.lalm.decode_dir.merge_decode_dir` writes
the decode dir.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from emorl.lalm.data import LalmDataset
from emorl.lalm.decode_dir import Decoded, job_utts, write_job
from emorl.lalm.model import AudioLM, Prompt
from emorl.lalm.prompts import answer_label, parse_completion


def parse(utt: str, completion: str, fmt: str, labels: Sequence[str] | None) -> Decoded:
    """Parse one completion; with ``labels`` (emo) also the class its answer names."""
    parsed = parse_completion(completion, fmt)
    label = answer_label(parsed.answer, labels) if labels is not None else None
    return Decoded(utt, completion, parsed.answer, parsed.format_valid, label)


@torch.no_grad()
def decode_prompts(
    lm: AudioLM,
    batches: Iterable[Sequence[Prompt]],
    fmt: str,
    labels: Sequence[str] | None,
    max_new_tokens: int,
    progress: bool = True,
    audio=None,
    all_done: Callable[[bool], bool] | None = None,
) -> list[Decoded]:
    """Greedy completions of batches of prompts, parsed; ``audio(prompts)``, when given,
    returns their audio tokens (else the model encodes them); ``all_done``: see
    :meth:`AudioLM.generate`."""
    was_training = lm.model.training
    lm.model.eval()
    batches = list(batches)
    decoded = []
    for prompts in tqdm(batches, desc="decode", unit="batch", disable=None if progress else True):
        tokens = audio(prompts) if audio is not None else None
        out = lm.generate(
            prompts, max_new_tokens=max_new_tokens, greedy=True, audio=tokens, all_done=all_done
        )
        decoded += [parse(p.utt, text, fmt, labels) for p, text in zip(prompts, out.texts)]
    lm.model.train(was_training)
    return decoded


def decode_job(
    model_dir: str | os.PathLike,
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    task: dict,
    nj: int = 1,
    job: int = 1,
    batch_size: int = 16,
    max_new_tokens: int = 128,
    device: str = "cpu",
) -> Path:
    """Decode job ``job`` of ``nj`` over ``data_dir``; writes ``out_dir/split<nj>/<job>.jsonl``.

    ``task``: the model dir's ``task.json`` (:func:`emorl.lalm.data.read_model_task`).
    References are not needed (unlabeled sets decode).
    """
    dataset = LalmDataset.from_dir(data_dir, task["task"], need_references=False)
    utts = set(job_utts(dataset.utts, nj, job))
    lm = AudioLM.load(model_dir)
    lm.model.to(device)
    prompts = {}
    batches = []
    for batch in dataset.batches(batch_size):
        batch = [u for u in batch if u in utts]
        if batch:
            for utt in batch:
                prompts[utt] = lm.prepare(utt, dataset.example(utt).wave, task["prompt"])
            batches.append([prompts[u] for u in batch])
    logging.info("job %d/%d: %d utterances of %s", job, nj, len(utts), data_dir)
    decoded = decode_prompts(lm, batches, task["format"], task["label_set"], max_new_tokens)
    return write_job(out_dir, nj, job, decoded)
