"""Recognising many files: in this process or ``nj`` worker processes, in the order given, and
the one-line-per-file output formats of ``emorl.bin.recognize``."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from emorl.infer.base import Recognition, Recognizer

FORMATS = ("tsv", "json")


def load_recognizer(model: str | os.PathLike, **options) -> Recognizer:
    """A packed model (a file) or an exp dir (a directory)."""
    if Path(model).is_file():
        return Recognizer.from_pretrained(model, **options)
    return Recognizer.from_exp_dir(model, **options)


def job_devices(nj: int, ngpu: int) -> list[str]:
    """The device of each of ``nj`` jobs: the CPU, or the ``ngpu`` GPUs in turn."""
    if nj < 1 or ngpu < 0:
        raise ValueError(f"--nj {nj} --ngpu {ngpu}: nj must be positive and ngpu not negative")
    if ngpu == 0:
        return ["cpu"] * nj
    available = torch.cuda.device_count()
    if ngpu > available:
        raise ValueError(f"--ngpu {ngpu}, but this machine has {available} GPUs")
    return [f"cuda:{j % ngpu}" for j in range(nj)]


_worker: Recognizer | None = None
_worker_error: Exception | None = None


def _init_worker(model, devices, num_threads: int, options: dict) -> None:
    global _worker, _worker_error
    if num_threads > 0:
        torch.set_num_threads(num_threads)
    try:
        _worker = load_recognizer(model, device=devices.get(), **options)
    except Exception as e:  # raised by the first task, so that the caller sees the message
        _worker_error = e


def _work(files: Sequence[str]) -> list[Recognition]:
    if _worker_error is not None:
        raise _worker_error
    return _worker.recognize_batch(files)


def recognize_files(
    model: str | os.PathLike,
    files: Sequence[str],
    nj: int = 1,
    ngpu: int = 0,
    files_per_batch: int = 8,
    num_threads: int = 1,
    **options,
) -> Iterator[Recognition]:
    """Recognitions of ``files``, in their order, ``files_per_batch`` at a time, by ``nj`` jobs
    (each loads the model once; worker processes are started with ``spawn``)."""
    devices = job_devices(nj, ngpu)
    chunks = [files[i : i + files_per_batch] for i in range(0, len(files), files_per_batch)]
    if nj == 1 or len(chunks) == 1:
        if num_threads > 0:
            torch.set_num_threads(num_threads)
        recognizer = load_recognizer(model, device=devices[0], **options)
        for chunk in chunks:
            yield from recognizer.recognize_batch(chunk)
        return
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    for device in devices:
        queue.put(device)
    with ProcessPoolExecutor(
        nj,
        mp_context=context,
        initializer=_init_worker,
        initargs=(str(model), queue, num_threads, options),
    ) as pool:
        for results in pool.map(_work, chunks):
            yield from results


def format_line(result: Recognition, output: str = "tsv", top: int = 3) -> str:
    """One output line: ``tsv`` (source, label, the ``top`` classes as ``label:posterior``) or
    ``json`` (the whole :meth:`Recognition.to_dict`)."""
    if output == "json":
        return json.dumps(result.to_dict(), ensure_ascii=False)
    if output != "tsv":
        raise ValueError(f"unknown output format {output!r}; choose from {FORMATS}")
    best = " ".join(f"{label}:{p:.4f}" for label, p in result.top(top))
    return f"{result.source}\t{result.label}\t{best}"
