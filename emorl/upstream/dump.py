"""Stage 2: dump an upstream's features of a data dir, as ``nj`` resumable jobs, then merge them.

Layout of ``dump/<upstream>/<set>/``::

    feats.scp  feats_info.json         the dump contract (emorl.data.feats), written by merge()
    split<nj>/<job>/feats.ark          job <job>'s features, appended a batch at a time
    split<nj>/<job>/feats.scp          its index, appended after each batch's ark entries
    split<nj>/<job>/signature.json     what the features are made with
    split<nj>/<job>/feats_info.json    written when the job has finished

A job takes a contiguous block of the sorted utterances (as Kaldi's split_scp does). It reads
them ``chunk_size`` at a time, sorts each chunk by length and encodes length-homogeneous batches,
so memory does not grow with the corpus. A killed job, rerun with the same options, keeps every
batch whose index lines reached ``feats.scp`` and computes only the rest; with other options (or
code) it starts over.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import kaldiio
import numpy as np
from tqdm import tqdm

from emorl.atomic import atomic_write
from emorl.data.audio import load_utterance
from emorl.data.datadir import DataDir
from emorl.data.feats import FeatsInfo
from emorl.fingerprint import json_sha256, tree_sha256
from emorl.upstream.base import Upstream, UpstreamError, check_waveform, resolve_layers
from emorl.version import code_version

POOLINGS = ("none", "mean_std")
DTYPES = ("float32", "float16")


def shard(utts: Sequence[str], nj: int, job: int) -> list[str]:
    """Job ``job`` (1-based) of ``nj``: a contiguous block of ``utts`` (sizes differ by <= 1)."""
    if not 1 <= job <= nj:
        raise ValueError(f"--job {job} is not in 1..{nj}")
    return [str(u) for u in np.array_split(np.asarray(utts, dtype=object), nj)[job - 1]]


def job_dir(out_dir: str | Path, nj: int, job: int) -> Path:
    return Path(out_dir) / f"split{nj}" / str(job)


def length_sorted_batches(costs: Sequence[int], max_cost: float, max_batch: int) -> list[list[int]]:
    """Indices grouped longest first, so that a batch's padded cost (size x longest) stays within
    ``max_cost`` (an item costlier than that forms a batch alone)."""
    batches: list[list[int]] = []
    for i in sorted(range(len(costs)), key=lambda i: -costs[i]):
        batch = batches[-1] if batches else None
        if batch and len(batch) < max_batch and (len(batch) + 1) * costs[batch[0]] <= max_cost:
            batch.append(i)
        else:
            batches.append([i])
    return batches


def postprocess(feats: np.ndarray, pooling: str, downsample: int) -> np.ndarray:
    """``[T, L, D]`` averaged over groups of ``downsample`` frames, or pooled to ``[1, L, 2D]``
    (mean, then standard deviation, of each layer)."""
    if pooling == "mean_std":
        return np.concatenate([feats.mean(0, keepdims=True), feats.std(0, keepdims=True)], axis=-1)
    if downsample > 1:
        starts = np.arange(0, feats.shape[0], downsample)
        counts = np.diff(np.append(starts, feats.shape[0]))
        return np.add.reduceat(feats, starts, axis=0) / counts[:, None, None].astype(feats.dtype)
    return feats


def encode(
    upstream: Upstream,
    waves: Sequence[np.ndarray],
    names: Sequence[str],
    layers: Sequence[int],
    pooling: str,
    downsample: int,
    dtype: str,
) -> list[np.ndarray]:
    """The dump's matrices ``[T, L * D]`` (in ``dtype``) of a batch of waveforms, as
    :func:`extract_job` stores them; ``names`` go into errors."""
    out = []
    for name, mat in zip(names, upstream.extract(waves, layers)):
        if mat.shape[0] == 0:
            raise ValueError(f"{name}: {upstream.name} gave no frames")
        if not np.isfinite(mat).all():
            raise ValueError(f"{name}: {upstream.name} output contains NaN or Inf")
        mat = postprocess(mat, pooling, downsample)
        out.append(mat.reshape(mat.shape[0], -1).astype(dtype))
    return out


def feats_info(
    upstream: Upstream,
    layers: Sequence[int],
    pooling: str,
    downsample: int,
    dtype: str,
    extra: dict,
) -> FeatsInfo:
    """What the dump will hold; checks the options against the upstream."""
    if pooling not in POOLINGS:
        raise UpstreamError(f"--pooling {pooling!r}: expected one of {POOLINGS}")
    if dtype not in DTYPES:
        raise UpstreamError(f"--dtype {dtype!r}: expected one of {DTYPES}")
    if downsample < 1:
        raise UpstreamError(f"--downsample {downsample}: expected a positive integer")
    if upstream.frame_rate is None and (pooling != "none" or downsample != 1):
        raise UpstreamError(
            f"{upstream.name} gives one vector per utterance: use --pooling none --downsample 1"
        )
    if pooling != "none" and downsample != 1:
        raise UpstreamError(
            "--downsample applies to frame-level features; with --pooling mean_std keep it at 1"
        )
    pooled = pooling == "mean_std"
    return FeatsInfo(
        upstream=upstream.name,
        layers=list(layers),
        dim=upstream.dim * (2 if pooled else 1),
        frame_rate=None
        if pooled or upstream.frame_rate is None
        else upstream.frame_rate / downsample,
        pooling=pooling,
        dtype=dtype,
        extra={
            "upstream": upstream.describe(),
            "upstream_num_layers": upstream.num_layers,
            "downsample": downsample,
            "code_version": code_version(),
            **extra,
        },
    )


def _read_scp(path: Path, repair: bool = False) -> dict[str, str]:
    """A job's index; a last line cut short by a kill is dropped (and removed when ``repair``)."""
    if not path.exists():
        return {}
    text = path.read_text()
    complete = text[: text.rfind("\n") + 1]
    if repair and complete != text:
        with atomic_write(path) as f:
            f.write(complete)
    return dict(line.split(maxsplit=1) for line in complete.splitlines())


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class DumpOptions:
    """How a dump is made (the options of ``emorl.bin.extract`` besides the upstream and job)."""

    layers: str | Sequence[int] = "all"
    pooling: str = "none"  # one of POOLINGS
    downsample: int = 1
    dtype: str = "float32"  # one of DTYPES
    on_rate_mismatch: str = "resample"  # or "error"
    chunk_size: int = 64  # utterances read and length-sorted at a time
    batch_seconds: float = 60.0  # padded audio seconds per batch
    max_batch_size: int = 16
    extra: dict = field(default_factory=dict)  # recorded in feats_info.json's extra


def weights_sha256(upstream: Upstream) -> str | None:
    """sha256 of the upstream's weights (its checkpoint file or model dir); None without any."""
    described = upstream.describe()
    path = described.get("checkpoint") or described.get("model_dir")
    return tree_sha256(path) if path else None


def dump_fingerprint(info: FeatsInfo, weights: str | None, data: DataDir) -> str:
    """What a dump is made from: its info (upstream, resolved options, code version), the
    upstream's weights and the audio of the data dir (``wav.scp`` and ``segments``)."""
    return json_sha256(
        {
            "info": {k: v for k, v in asdict(info).items() if k != "fingerprint"},
            "weights": weights,
            "audio": {"wav.scp": data.wav_scp, "segments": data.segments},
        }
    )


def extract_job(
    data: DataDir,
    upstream: Upstream,
    out_dir: str | Path,
    options: DumpOptions | None = None,
    nj: int = 1,
    job: int = 1,
) -> FeatsInfo:
    """Dump job ``job`` of ``nj`` (see the module docstring); returns what it wrote."""
    o = options or DumpOptions()
    layers = resolve_layers(o.layers, upstream.num_layers)
    info = feats_info(
        upstream,
        layers,
        o.pooling,
        o.downsample,
        o.dtype,
        {"on_rate_mismatch": o.on_rate_mismatch, **o.extra},
    )
    info.fingerprint = dump_fingerprint(info, weights_sha256(upstream), data)
    jdir = job_dir(out_dir, nj, job)
    signature = json.loads(json.dumps(asdict(info)))  # as it reads back from signature.json
    sig_path = jdir / "signature.json"
    if sig_path.exists() and json.loads(sig_path.read_text()) != signature:
        logging.warning("%s: made with other options or code; starting this job over", jdir)
        shutil.rmtree(jdir)
    jdir.mkdir(parents=True, exist_ok=True)
    (jdir / "feats_info.json").unlink(missing_ok=True)
    with atomic_write(sig_path) as f:
        json.dump(signature, f, indent=2, sort_keys=True)

    ark, scp = (jdir / "feats.ark").resolve(), jdir / "feats.scp"
    utts = shard(data.utts, nj, job)
    done = _read_scp(scp, repair=True)
    todo = [u for u in utts if u not in done]
    logging.info(
        "%s job %d/%d: %d utterances, %d already done",
        upstream.name,
        job,
        nj,
        len(utts),
        len(utts) - len(todo),
    )
    max_cost = o.batch_seconds * 16000
    resampled: Counter[int] = Counter()  # original rates of the resampled utterances
    write_function = "numpy" if o.dtype == "float16" else None  # Kaldi matrices have no float16
    with (
        open(scp, "a") as scp_f,
        tqdm(
            total=len(utts),
            initial=len(utts) - len(todo),
            desc=f"{upstream.name} {job}/{nj}",
            unit="utt",
            mininterval=2,
        ) as bar,
    ):
        for chunk in _chunks(todo, o.chunk_size):
            waves = [load_utterance(data, u, 16000, o.on_rate_mismatch, resampled) for u in chunk]
            for u, wave in zip(chunk, waves):
                check_waveform(wave, u, upstream.min_samples)
            for batch in length_sorted_batches(
                [upstream.cost(w.size) for w in waves], max_cost, o.max_batch_size
            ):
                names = [chunk[i] for i in batch]
                mats = encode(
                    upstream,
                    [waves[i] for i in batch],
                    names,
                    layers,
                    o.pooling,
                    o.downsample,
                    o.dtype,
                )
                out = dict(zip(names, mats))
                kaldiio.save_ark(
                    str(ark), out, scp=scp_f, append=True, write_function=write_function
                )
                scp_f.flush()
                bar.update(len(out))
    if resampled:
        rates = ", ".join(f"{n} from {rate} Hz" for rate, n in sorted(resampled.items()))
        logging.info(
            "%s job %d/%d: resampled %d of %d utterances to 16000 Hz (%s)",
            data.path or "data dir",
            job,
            nj,
            resampled.total(),
            len(todo),
            rates,
        )
    info.save(jdir)
    return info


def merge(data: DataDir, out_dir: str | Path, nj: int) -> FeatsInfo:
    """Check that the ``nj`` jobs finished alike and cover the data dir; write ``feats.scp``
    (sorted) and ``feats_info.json``."""
    out_dir = Path(out_dir)
    infos, entries = [], {}
    for job in range(1, nj + 1):
        jdir = job_dir(out_dir, nj, job)
        if not (jdir / "feats_info.json").is_file():
            raise FileNotFoundError(
                f"{jdir}/feats_info.json: job {job} of {nj} has not finished; "
                f"rerun emorl.bin.extract --nj {nj} --job {job} (it resumes)"
            )
        infos.append(FeatsInfo.load(jdir))
        if asdict(infos[-1]) != asdict(infos[0]):
            raise ValueError(
                f"{jdir}: made with other options than job 1; rerun the jobs with one config"
            )
        entries.update(_read_scp(jdir / "feats.scp"))
    missing = [u for u in data.utts if u not in entries]
    if missing:
        raise ValueError(
            f"{out_dir}: {len(missing)} utterances of {data.path or 'the data dir'} have no "
            f"features (e.g. {missing[:3]}); rerun the extraction jobs"
        )
    extra = len(entries) - len(data.utts)
    if extra:
        logging.warning(
            "%s: ignoring features of %d utterances not in the data dir", out_dir, extra
        )
    with atomic_write(out_dir / "feats.scp") as f:
        for utt in data.utts:
            f.write(f"{utt} {entries[utt]}\n")
    infos[0].save(out_dir)
    return infos[0]
