"""The upstream registry: names, what they mean, options, and errors that say what to do."""

from __future__ import annotations

import pytest

from emorl.upstream import OPTIONS, UpstreamError, family_of, get_upstream, options, upstream_names
from emorl.upstream.fbank import FbankUpstream


def test_names_cover_every_family_and_say_what_they_mean():
    names = upstream_names()
    for name in ("fbank", "egemaps", "whisper_tiny.en", "whisper_base", "whisper_large-v3",
                 "wavlm_base_plus", "wavlm_large", "hubert_base", "hubert_large_ll60k",
                 "wav2vec2_base", "hf:<dir>"):  # fmt: skip
        assert name in names
    meaning = options()
    assert "tools/models/whisper/base.pt" in meaning["whisper_base"]
    assert "wavlm_large.pt" in meaning["wavlm_large"]
    assert [family_of(n) for n in ("fbank", "whisper_small", "hf:/x", "hubert_base")] == [
        "fbank", "whisper", "hf", "s3prl",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["wavlm", "whisper_huge", "hf:", "Fbank"])
def test_unknown_name_lists_the_valid_names(name):
    with pytest.raises(
        UpstreamError, match=rf"unknown upstream '{name}'.*fbank, egemaps, whisper_tiny"
    ):
        get_upstream(name)


def test_options_reach_their_upstream_and_no_other():
    upstream = get_upstream("fbank", fbank_num_mel_bins=40, fbank_cmvn=True)
    assert isinstance(upstream, FbankUpstream) and upstream.dim == 40 and upstream.cmvn
    with pytest.raises(UpstreamError, match=r"\['whisper_pad30'\] do not apply to upstream fbank"):
        get_upstream("fbank", whisper_pad30=True)
    with pytest.raises(UpstreamError, match="unknown upstream options"):
        get_upstream("fbank", cmvn=True)
    assert {o.family for o in OPTIONS} <= {"fbank", "egemaps", "whisper", "s3prl", "hf"}


def test_fbank_takes_no_checkpoint():
    with pytest.raises(UpstreamError, match="no --upstream_path"):
        get_upstream("fbank", path="/some/file.pt")
