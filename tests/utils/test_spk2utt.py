"""utils/utt2spk_to_spk2utt.pl and utils/spk2utt_to_utt2spk.pl: sorted inversions."""

from __future__ import annotations

import pytest

from emorl.data.datadir import spk2utt_of

UTT2SPK = {"s2-b": "s2", "s1-a": "s1", "s2-a": "s2", "x9": "s0", "s1-b": "s1"}


def test_utt2spk_to_spk2utt_sorted_and_as_datadir_writes_it(run, tmp_path):
    (tmp_path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in UTT2SPK.items()))
    out = run("utt2spk_to_spk2utt.pl", "utt2spk")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "s0 x9\ns1 s1-a s1-b\ns2 s2-a s2-b\n"
    expected = spk2utt_of(UTT2SPK)
    assert out.stdout == "".join(f"{s} {expected[s]}\n" for s in sorted(expected))


def test_round_trip_through_stdin(run):
    text = "".join(f"{u} {s}\n" for u, s in UTT2SPK.items())
    spk2utt = run("utt2spk_to_spk2utt.pl", stdin=text).stdout
    out = run("spk2utt_to_utt2spk.pl", stdin=spk2utt)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "".join(f"{u} {UTT2SPK[u]}\n" for u in sorted(UTT2SPK))


@pytest.mark.parametrize(
    "tool, text, message",
    [
        ("utt2spk_to_spk2utt.pl", "a s1\nb\n", "stdin:2: expected '<utt> <speaker>', got: b"),
        ("utt2spk_to_spk2utt.pl", "a s1\na s2\n", "stdin:2: duplicate utterance a"),
        (
            "spk2utt_to_utt2spk.pl",
            "s1 a b\ns2 b\n",
            "stdin:2: utterance b already belongs to speaker s1",
        ),
        ("spk2utt_to_utt2spk.pl", "s1\n", "stdin:1: expected '<speaker> <utt> ...'"),
    ],
)
def test_bad_input_names_the_line(run, tool, text, message):
    out = run(tool, stdin=text)
    assert out.returncode == 1
    assert message in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("tool", ["utt2spk_to_spk2utt.pl", "spk2utt_to_utt2spk.pl"])
def test_wrong_calls(run, tool):
    out = run(tool, "a", "b")
    assert out.returncode == 1 and "Usage:" in out.stderr
    out = run(tool, "missing")
    assert out.returncode == 1 and "cannot read missing" in out.stderr
