r"""Stage 2 speed: utterances per second and real-time factor of each upstream and mode.

Prints markdown tables for egs/mini_emo/emo1/README.md:
1. throughput of each upstream (``name`` or ``name:pad30``) over the first ``--max_utts``
   utterances of ``--throughput_set``, in one process (model loading timed apart);
2. ``--recipe_time``: the whole corpus through ``--recipe_upstream`` as stage 2 runs it (every set,
   ``--nj`` parallel ``emorl.bin.extract`` jobs, then ``merge_feats``), wall clock;
3. ``--memory``: peak RSS of one extraction job on a set and on the same set repeated 10 times
   (streaming: the peak must not grow with the corpus);
4. ``--ser_probe``: how much 30-s padding changes downstream accuracy: a linear probe (standardised
   logistic regression on the mean+std of every layer) trained on the train set, scored on the
   eval sets, with true-length and padded features.

Usage:
    python -m emorl.bin.prepare_data --corpus mini_emo --corpus_dir /tmp/mini_db \
        --output_dir /tmp/mini_data
    python bench/upstream_throughput.py --data_root /tmp/mini_data --recipe_time true \
        --memory true --ser_probe true
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emorl.cli import str2bool
from emorl.data.datadir import DataDir
from emorl.data.feats import read_feats
from emorl.upstream import get_upstream
from emorl.upstream.dump import DumpOptions, extract_job, merge

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "egs" / "mini_emo" / "emo1" / "conf" / "upstream"
PEAK_CODE = (
    "import resource, sys\n"
    "from emorl.bin import extract\n"
    "extract.main(sys.argv[1:])\n"
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
)


def build(spec: str):
    """``name`` or ``name:pad30`` -> (upstream, seconds to load it)."""
    name, _, mode = spec.partition(":")
    start = time.perf_counter()
    upstream = get_upstream(name, **({"whisper_pad30": True} if mode == "pad30" else {}))
    return upstream, time.perf_counter() - start


def audio_seconds(data: DataDir) -> float:
    return sum(float(data.utt2dur[u]) for u in data.utts)


def throughput(args, work: Path) -> None:
    data = DataDir.load(args.data_root / args.throughput_set)
    data = data.subset(data.utts[: args.max_utts])
    seconds = audio_seconds(data)
    print(
        f"\n### Throughput: {len(data.utts)} utterances of {args.throughput_set} ({seconds:.0f} s)"
    )
    print(f"{torch.get_num_threads()} torch threads, one job, pooling mean_std, all layers\n")
    print("| upstream | mode | load s | extract s | utt/s | RTF | speed-up vs 30-s padding |")
    print("|---|---|---:|---:|---:|---:|---:|")
    times = {}
    for spec in args.upstreams:
        upstream, load = build(spec)
        pooling = "none" if upstream.frame_rate is None else "mean_std"
        start = time.perf_counter()
        extract_job(data, upstream, work / spec.replace(":", "_"), DumpOptions(pooling=pooling))
        took = times[spec] = time.perf_counter() - start
        name, _, mode = spec.partition(":")
        speedup = ""
        if name.startswith("whisper_"):
            mode = mode or "true length"
            padded = times.get(f"{name}:pad30")
            speedup = f"{padded / times[name]:.1f}x" if padded and name in times else ""
        print(
            f"| {name} | {mode or '-'} | {load:.1f} | {took:.1f} | {len(data.utts) / took:.1f} "
            f"| {took / seconds:.4f} | {speedup} |",
            flush=True,
        )


def stage2(upstream: str, data_dir: Path, out_dir: Path, nj: int, extra: list[str]) -> None:
    """Stage 2 of the recipe for one set: ``nj`` parallel jobs, then the merge."""
    base = [sys.executable, "-m", "emorl.bin.extract", "--upstream", upstream, *extra]
    jobs = [
        subprocess.Popen(
            [
                *base,
                "--data_dir",
                str(data_dir),
                "--out_dir",
                str(out_dir),
                "--nj",
                str(nj),
                "--job",
                str(j),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for j in range(1, nj + 1)
    ]
    if any(job.wait() for job in jobs):
        raise RuntimeError(f"an extraction job of {data_dir} failed; run it by hand to see why")
    subprocess.run(
        [sys.executable, "-m", "emorl.bin.merge_feats", "--data_dir", str(data_dir),
         "--out_dir", str(out_dir), "--nj", str(nj)],
        check=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def recipe_time(args, work: Path) -> None:
    sets = sorted(p.parent.name for p in args.data_root.glob("*/utt2spk"))
    conf = CONF / f"{args.recipe_upstream}.yaml"
    extra = ["--config", str(conf)] if conf.exists() else []
    total_audio = sum(audio_seconds(DataDir.load(args.data_root / s)) for s in sets)
    count = sum(len(DataDir.load(args.data_root / s).utts) for s in sets)
    start, cpu = time.perf_counter(), children_cpu_seconds()
    for name in sets:
        stage2(args.recipe_upstream, args.data_root / name, work / "recipe" / name, args.nj, extra)
    took, cpu = time.perf_counter() - start, children_cpu_seconds() - cpu
    print(f"\n### Stage 2 of the recipe: {args.recipe_upstream}, {' '.join(extra)}")
    print(f"{count} utterances ({total_audio:.0f} s) in {len(sets)} sets, nj={args.nj}: ")
    print(f"**{took:.0f} s** wall clock, {count / took:.1f} utt/s, RTF {took / total_audio:.4f}; ")
    print(f"{cpu:.0f} CPU seconds in all jobs: {cpu / args.nj:.0f} s on {args.nj} free cores")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib(argv: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one extraction job run in a fresh process."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PEAK_CODE, *argv], capture_output=True, text=True, check=True
    ).stdout
    kb = int(next(line.split()[1] for line in out.splitlines() if line.startswith("PEAK_KB")))
    return time.perf_counter() - start, kb / 1024


def memory(args, work: Path) -> None:
    data = DataDir.load(args.data_root / args.memory_set)
    if data.segments is not None:
        raise SystemExit("--memory: needs a data dir without segments")
    copies = {f"{u}-r{k}": u for u in data.utts for k in range(10)}
    big = DataDir(
        wav_scp={c: data.wav_scp[u] for c, u in copies.items()},
        utt2spk={c: data.utt2spk[u] for c, u in copies.items()},
    )
    big.write(work / "big")
    print(
        f"\n### Peak memory of one job: {args.recipe_upstream}, frame-level, every layer, float32"
    )
    print("| corpus | utterances | seconds | peak RSS MiB |\n|---|---:|---:|---:|")
    peaks = []
    for label, path in [("1x", args.data_root / args.memory_set), ("10x", work / "big")]:
        argv = ["--upstream", args.recipe_upstream, "--data_dir", str(path),
                "--out_dir", str(work / f"mem{label}"), "--layers", "all", "--pooling", "none",
                "--num_threads", str(args.num_threads)]  # fmt: skip
        took, peak = peak_rss_mib(argv)
        peaks.append(peak)
        n = len(DataDir.load(path).utts)
        print(f"| {label} {args.memory_set} | {n} | {took:.0f} | {peak:.0f} |", flush=True)
    print(f"\nPeak RSS grows by {100 * (peaks[1] / peaks[0] - 1):.1f}% for 10x the utterances.")


def probe_scores(feats: dict, train: DataDir, evals: dict[str, DataDir]) -> dict[str, tuple]:
    def xy(data):
        x = np.stack([feats[u].reshape(-1) for u in data.utts])
        return x, [data.utt2emo[u] for u in data.utts]

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.1))
    probe.fit(*xy(train))
    scores = {}
    for name, data in evals.items():
        x, y = xy(data)
        pred = probe.predict(x)
        scores[name] = (
            100 * balanced_accuracy_score(y, pred),
            100 * accuracy_score(y, pred),
            100 * f1_score(y, pred, average="macro"),
        )
    return scores


def ser_probe(args, work: Path) -> None:
    sets = {s: DataDir.load(args.data_root / s) for s in [args.probe_train, *args.probe_eval]}
    print(
        f"\n### 30-s padding and downstream accuracy: linear probe, {args.probe_train} -> eval sets"
    )
    print("| upstream | mode | eval set | UA | WA | macro-F1 |\n|---|---|---|---:|---:|---:|")
    for spec in (args.probe_upstream, f"{args.probe_upstream}:pad30"):
        upstream, _ = build(spec)
        feats = {}
        for name, data in sets.items():
            out = work / "probe" / spec.replace(":", "_") / name
            extract_job(data, upstream, out, DumpOptions(pooling="mean_std"))
            merge(data, out, nj=1)
            feats.update(read_feats(out)[1])
        scores = probe_scores(feats, sets[args.probe_train], {s: sets[s] for s in args.probe_eval})
        for name, (ua, wa, f1) in scores.items():
            mode = "30-s padded" if spec.endswith(":pad30") else "true length"
            print(f"| {args.probe_upstream} | {mode} | {name} | {ua:.1f} | {wa:.1f} | {f1:.1f} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data_root", type=Path, required=True, help="dir of data/<set> dirs")
    parser.add_argument(
        "--upstreams", nargs="+", help="name or name:pad30",
        default=["fbank", "egemaps", "whisper_tiny.en:pad30", "whisper_tiny.en",
                 "whisper_base:pad30", "whisper_base"],
    )  # fmt: skip
    parser.add_argument("--throughput", type=str2bool, default=True)
    parser.add_argument("--throughput_set", default="src_train")
    parser.add_argument("--max_utts", type=int, default=120, help="utterances for the throughput")
    parser.add_argument("--num_threads", type=int, default=1, help="torch threads (as a job)")
    parser.add_argument("--recipe_time", type=str2bool, default=False)
    parser.add_argument("--recipe_upstream", default="whisper_tiny.en")
    parser.add_argument("--nj", type=int, default=2)
    parser.add_argument("--memory", type=str2bool, default=False)
    parser.add_argument("--memory_set", default="src_dev")
    parser.add_argument("--ser_probe", type=str2bool, default=False)
    parser.add_argument("--probe_upstream", default="whisper_tiny.en")
    parser.add_argument("--probe_train", default="src_train")
    parser.add_argument("--probe_eval", nargs="+", default=["src_test", "tgt_test"])
    parser.add_argument("--work_dir", type=Path, help="default: a temporary directory")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.num_threads)
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        work = Path(tmp)
        if args.throughput:
            throughput(args, work)
        if args.recipe_time:
            recipe_time(args, work)
        if args.memory:
            memory(args, work)
        if args.ser_probe:
            ser_probe(args, work)


if __name__ == "__main__":
    main()
