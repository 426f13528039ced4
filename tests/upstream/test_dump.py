"""Stage 2 dumping: sharding, batching, post-processing, ark/scp round trip, resume, merge."""

from __future__ import annotations

import dataclasses
import json
import logging

import numpy as np
import pytest
import soundfile
from upstream_fixtures import synth_wave, write_data_dir

from emorl.data.audio import AudioError
from emorl.data.feats import read_feats
from emorl.fingerprint import dump_fingerprint
from emorl.upstream import get_upstream
from emorl.upstream.base import Upstream, UpstreamError
from emorl.upstream.dump import (
    DumpOptions,
    extract_job,
    job_dir,
    length_sorted_batches,
    merge,
    postprocess,
    shard,
    weights_sha256,
)

DURATIONS = {
    f"utt{i:02d}": d for i, d in enumerate([1.2, 2.5, 0.8, 3.0, 1.9, 2.2, 1.0, 2.8, 1.5, 0.9])
}


@pytest.fixture
def data(tmp_path):
    return write_data_dir(tmp_path / "corpus", DURATIONS)


class Counting(Upstream):
    """Wraps an upstream; counts the waveforms it encodes and can fail after some batches."""

    def __init__(self, inner: Upstream, fail_after: int | None = None, nan: bool = False):
        self.inner, self.fail_after, self.nan = inner, fail_after, nan
        self.name, self.num_layers, self.dim = inner.name, inner.num_layers, inner.dim
        self.frame_rate, self.batches, self.encoded = inner.frame_rate, 0, 0

    def extract(self, waves, layers):
        if self.fail_after is not None and self.batches == self.fail_after:
            raise KeyboardInterrupt
        self.batches += 1
        self.encoded += len(waves)
        out = self.inner.extract(waves, layers)
        if self.nan:
            out[-1][0, 0, 0] = np.nan
        return out


def test_shard_is_contiguous_and_covers_everything():
    utts = [f"u{i}" for i in range(7)]
    shards = [shard(utts, 3, j) for j in (1, 2, 3)]
    assert shards == [["u0", "u1", "u2"], ["u3", "u4"], ["u5", "u6"]]
    assert shard(utts[:1], 2, 2) == []
    with pytest.raises(ValueError, match="--job 4 is not in 1..3"):
        shard(utts, 3, 4)


def test_length_sorted_batches_respect_the_padded_budget():
    assert length_sorted_batches([3, 10, 5, 5, 1], max_cost=12, max_batch=3) == [
        [1],
        [2, 3],
        [0, 4],
    ]
    assert length_sorted_batches([1] * 5, max_cost=100, max_batch=2) == [[0, 1], [2, 3], [4]]


def test_postprocess_downsample_and_mean_std():
    feats = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    down = postprocess(feats, "none", 2)
    assert down.shape == (3, 2, 3)
    np.testing.assert_array_equal(down[0], feats[:2].mean(0))
    np.testing.assert_array_equal(down[2], feats[4])  # the last group has one frame
    pooled = postprocess(feats, "mean_std", 1)
    assert pooled.shape == (1, 2, 6)
    np.testing.assert_allclose(pooled[0, :, :3], feats.mean(0))
    np.testing.assert_allclose(pooled[0, :, 3:], feats.std(0))
    assert postprocess(feats, "none", 1) is feats


def test_dump_round_trips_through_kaldiio(data, tmp_path):
    upstream = get_upstream("fbank")
    for job in (1, 2):
        extract_job(
            data, upstream, tmp_path / "dump", DumpOptions(chunk_size=3, max_batch_size=2), 2, job
        )
    info = merge(data, tmp_path / "dump", nj=2)
    scp_keys = [
        line.split()[0] for line in (tmp_path / "dump" / "feats.scp").read_text().splitlines()
    ]
    assert scp_keys == sorted(DURATIONS)
    info, feats = read_feats(tmp_path / "dump")
    assert (info.upstream, info.layers, info.dim, info.frame_rate) == ("fbank", [0], 80, 100.0)
    assert info.extra["code_version"].startswith("0.")
    for utt in data.utts:
        wave = soundfile.read(data.wav_scp[utt], dtype="float32")[0]
        np.testing.assert_array_equal(feats[utt], upstream.extract([wave], [0])[0])


def test_pooled_float16_dump(data, tmp_path, tiny_whisper):
    upstream = get_upstream("whisper_tiny.en", path=str(tiny_whisper))
    extract_job(data, upstream, tmp_path / "f32", DumpOptions(layers="0,2", pooling="mean_std"))
    extract_job(
        data,
        upstream,
        tmp_path / "f16",
        DumpOptions(layers="0,2", pooling="mean_std", dtype="float16"),
    )
    for name in ("f32", "f16"):
        merge(data, tmp_path / name, nj=1)
    f32 = read_feats(tmp_path / "f32")[1]
    info16, f16 = read_feats(tmp_path / "f16")
    assert (info16.dtype, info16.dim, info16.layers, info16.frame_rate) == (
        "float16",
        128,
        [0, 2],
        None,
    )
    assert (tmp_path / "f16/split1/1/feats.ark").stat().st_size < (
        tmp_path / "f32/split1/1/feats.ark"
    ).stat().st_size
    for utt in data.utts:
        assert f16[utt].dtype == np.float32 and f16[utt].shape == (1, 2, 128)
        np.testing.assert_allclose(f16[utt], f32[utt], rtol=2e-3, atol=2e-3)


def test_downsampled_frames_and_frame_rate(data, tmp_path, tiny_whisper):
    upstream = get_upstream("whisper_tiny.en", path=str(tiny_whisper))
    info = extract_job(data, upstream, tmp_path / "d", DumpOptions(layers="last", downsample=3))
    merge(data, tmp_path / "d", nj=1)
    assert info.frame_rate == pytest.approx(50 / 3)
    _, feats = read_feats(tmp_path / "d")
    frames = (int(DURATIONS["utt03"] * 16000) // 160 + 1) // 2
    assert feats["utt03"].shape == (-(-frames // 3), 1, 64)


def test_interrupted_job_resumes_without_recomputing(data, tmp_path):
    fbank = get_upstream("fbank")
    out = tmp_path / "dump"
    with pytest.raises(KeyboardInterrupt):
        extract_job(
            data, Counting(fbank, fail_after=2), out, DumpOptions(chunk_size=4, max_batch_size=2)
        )
    scp = job_dir(out, 1, 1) / "feats.scp"
    assert len(scp.read_text().splitlines()) == 4
    assert not (job_dir(out, 1, 1) / "feats_info.json").exists()
    with pytest.raises(FileNotFoundError, match="job 1 of 1 has not finished"):
        merge(data, out, nj=1)
    with open(scp, "a") as f:
        f.write("utt99 /cut/short/by/a/ki")  # a kill in the middle of a line
    resumed = Counting(fbank)
    extract_job(data, resumed, out, DumpOptions(chunk_size=4, max_batch_size=2))
    assert resumed.encoded == len(DURATIONS) - 4
    merge(data, out, nj=1)
    extract_job(data, fresh := Counting(fbank), tmp_path / "fresh")
    assert fresh.encoded == len(DURATIONS)
    merge(data, tmp_path / "fresh", nj=1)
    _, got = read_feats(out)
    _, want = read_feats(tmp_path / "fresh")
    assert sorted(got) == sorted(want) == data.utts
    for utt in data.utts:
        np.testing.assert_array_equal(got[utt], want[utt])
    again = Counting(fbank)
    extract_job(data, again, out)  # finished: nothing to do
    assert again.encoded == 0


def test_other_options_start_the_job_over(data, tmp_path):
    fbank = get_upstream("fbank")
    extract_job(data, fbank, tmp_path / "dump")
    redo = Counting(fbank)
    extract_job(data, redo, tmp_path / "dump", DumpOptions(pooling="mean_std"))
    assert redo.encoded == len(DURATIONS)
    assert (
        json.loads((job_dir(tmp_path / "dump", 1, 1) / "signature.json").read_text())["pooling"]
        == "mean_std"
    )
    assert len((job_dir(tmp_path / "dump", 1, 1) / "feats.scp").read_text().splitlines()) == len(
        DURATIONS
    )


def test_option_conflicts():
    egemaps = get_upstream("egemaps")
    with pytest.raises(UpstreamError, match="one vector per utterance"):
        extract_job(None, egemaps, "/nonexistent", DumpOptions(pooling="mean_std"))
    with pytest.raises(UpstreamError, match="with --pooling mean_std keep it at 1"):
        extract_job(
            None,
            get_upstream("fbank"),
            "/nonexistent",
            DumpOptions(pooling="mean_std", downsample=2),
        )
    with pytest.raises(UpstreamError, match="--dtype 'int8'"):
        extract_job(None, egemaps, "/nonexistent", DumpOptions(dtype="int8"))


def test_nan_output_stops_with_the_utterance(data, tmp_path):
    with pytest.raises(ValueError, match=r"utt\d\d: fbank output contains NaN or Inf"):
        extract_job(data, Counting(get_upstream("fbank"), nan=True), tmp_path / "dump")


def test_empty_silent_and_too_short_input_stop_with_the_utterance(data, tmp_path):
    soundfile.write(data.wav_scp["utt04"], np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="utt04: .*empty audio"):
        extract_job(data, get_upstream("fbank"), tmp_path / "dump")
    soundfile.write(data.wav_scp["utt04"], np.zeros(16000, np.float32), 16000)
    with pytest.raises(ValueError, match="utt04: silent waveform"):
        extract_job(data, get_upstream("fbank"), tmp_path / "dump")
    soundfile.write(data.wav_scp["utt04"], synth_wave(0.01), 16000)
    with pytest.raises(ValueError, match=r"utt04: 160 samples \(0.010 s\) is shorter"):
        extract_job(data, get_upstream("fbank"), tmp_path / "dump")


def test_other_sample_rates_are_resampled_or_rejected(data, tmp_path, caplog):
    soundfile.write(data.wav_scp["utt02"], synth_wave(0.8, sr=8000), 8000)
    soundfile.write(data.wav_scp["utt05"], synth_wave(0.8, sr=8000), 8000)
    soundfile.write(data.wav_scp["utt07"], synth_wave(0.8, sr=22050), 22050)
    with pytest.raises(AudioError, match="utt02: .* sample rate 8000 Hz, expected 16000 Hz"):
        extract_job(
            data, get_upstream("fbank"), tmp_path / "a", DumpOptions(on_rate_mismatch="error")
        )
    with caplog.at_level(logging.INFO):
        extract_job(data, get_upstream("fbank"), tmp_path / "b", DumpOptions(chunk_size=2))
    resampling = [r.getMessage() for r in caplog.records if "resampled" in r.getMessage()]
    assert resampling == [
        f"{data.path} job 1/1: resampled 3 of 10 utterances to 16000 Hz "
        "(2 from 8000 Hz, 1 from 22050 Hz)"
    ]  # once for the job, however many chunks
    merge(data, tmp_path / "b", nj=1)
    _, feats = read_feats(tmp_path / "b")
    assert feats["utt02"].shape[0] == 1 + (12800 - 400) // 160


def test_merge_checks_coverage_and_agreement(data, tmp_path):
    fbank = get_upstream("fbank")
    extract_job(data.subset(data.utts[:-1]), fbank, tmp_path / "dump", nj=2, job=1)
    extract_job(data.subset(data.utts[:-1]), fbank, tmp_path / "dump", nj=2, job=2)
    with pytest.raises(
        ValueError, match=r"1 utterances of .* have no features \(e.g. \['utt09'\]\)"
    ):
        merge(data, tmp_path / "dump", nj=2)
    with pytest.raises(FileNotFoundError, match="job 3 of 3 has not finished"):
        extract_job(data, fbank, tmp_path / "dump", nj=3, job=1)
        extract_job(data, fbank, tmp_path / "dump", nj=3, job=2)
        merge(data, tmp_path / "dump", nj=3)
    extract_job(data, fbank, tmp_path / "dump", DumpOptions(pooling="mean_std"), nj=3, job=3)
    with pytest.raises(ValueError, match="made with other options than job 1"):
        merge(data, tmp_path / "dump", nj=3)
    assert not (tmp_path / "dump" / "feats.scp").exists()


def test_the_dump_fingerprint_follows_options_weights_and_audio(data, tmp_path):
    """Stale result 2: what reads a dump depends on its fingerprint, which changes when the values
    change even though feats.scp stays byte-identical (fbank_cmvn false -> true)."""

    def dump(name, data=data, **options):
        extract_job(data, get_upstream("fbank", **options), tmp_path / name)
        merge(data, tmp_path / name, nj=1)
        return json.loads((tmp_path / name / "feats_info.json").read_text())["fingerprint"]

    plain = dump("plain")
    assert len(plain) == 64 and dump_fingerprint(tmp_path / "plain") == plain
    assert dump("again") == plain  # a deterministic function of what made the dump
    cmvn = dump("cmvn", fbank_cmvn=True)
    assert cmvn != plain
    assert dump("mel40", fbank_num_mel_bins=40) not in (plain, cmvn)
    first = data.utts[0]
    other_audio = dataclasses.replace(
        data, wav_scp={**data.wav_scp, first: data.wav_scp[data.utts[1]]}
    )
    assert dump("other_audio", data=other_audio) != plain


def test_weights_are_fingerprinted_by_content(tmp_path):
    class WithCheckpoint(Upstream):
        name, num_layers, dim, frame_rate = "fake", 1, 2, 50.0

        def describe(self):
            return {"checkpoint": str(tmp_path / "model.pt")}

        def extract(self, waves, layers):
            raise NotImplementedError

    (tmp_path / "model.pt").write_bytes(b"weights 1")
    first = weights_sha256(WithCheckpoint())
    (tmp_path / "model.pt").write_bytes(b"weights 2")
    assert weights_sha256(WithCheckpoint()) != first
    assert weights_sha256(get_upstream("fbank")) is None
