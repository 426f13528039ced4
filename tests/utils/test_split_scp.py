"""utils/split_scp.pl: contiguous, near-equal parts; speakers kept whole with --utt2spk."""

from __future__ import annotations

import pytest


def write_scp(path, n):
    lines = [f"utt{i:03d} /audio/{i}.wav" for i in range(n)]
    path.write_text("".join(line + "\n" for line in lines))
    return lines


def read_parts(tmp_path, m):
    return [(tmp_path / f"split/{j}/wav.scp").read_text().splitlines() for j in range(1, m + 1)]


@pytest.mark.parametrize("n, m", [(10, 3), (5, 2), (7, 7), (100, 8), (9, 1)])
def test_split_is_contiguous_and_near_equal(run, tmp_path, n, m):
    lines = write_scp(tmp_path / "wav.scp", n)
    out = run("split_scp.pl", "wav.scp", *[f"split/{j}/wav.scp" for j in range(1, m + 1)])
    assert out.returncode == 0, out.stderr
    parts = read_parts(tmp_path, m)
    assert sum(parts, []) == lines  # in order, nothing lost or repeated
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1


def test_utt2spk_keeps_each_speaker_in_one_part(run, tmp_path):
    lines = write_scp(tmp_path / "wav.scp", 10)
    speakers = ["a"] * 4 + ["b"] + ["c"] * 2 + ["d"] * 3
    (tmp_path / "utt2spk").write_text("".join(f"utt{i:03d} {s}\n" for i, s in enumerate(speakers)))
    out = run(
        "split_scp.pl", "--utt2spk=utt2spk", "wav.scp", *[f"split/{j}/wav.scp" for j in (1, 2, 3)]
    )
    assert out.returncode == 0, out.stderr
    parts = read_parts(tmp_path, 3)
    assert sum(parts, []) == lines
    spk_of_part = [{speakers[int(line[3:6])] for line in part} for part in parts]
    assert spk_of_part == [{"a"}, {"b", "c"}, {"d"}]  # 4, 3, 3 lines: the nearest to 10/3 each


@pytest.mark.parametrize(
    "utt2spk, m, message",
    [
        (None, 6, "6 outputs but only 5 lines in wav.scp"),
        ("aabbb", 3, "3 outputs but only 2 speakers in wav.scp"),
        ("abaab", 2, "wav.scp:3: the utterances of speaker a are not contiguous"),
        ("abcd", 2, "wav.scp:5: utterance utt004 is not in utt2spk"),
    ],
)
def test_impossible_splits_fail(run, tmp_path, utt2spk, m, message):
    write_scp(tmp_path / "wav.scp", 5)
    args = []
    if utt2spk is not None:
        (tmp_path / "utt2spk").write_text(
            "".join(f"utt{i:03d} {s}\n" for i, s in enumerate(utt2spk))
        )
        args = ["--utt2spk", "utt2spk"]
    out = run("split_scp.pl", *args, "wav.scp", *[f"split/{j}/wav.scp" for j in range(1, m + 1)])
    assert out.returncode == 1
    assert message in out.stderr
    assert not (tmp_path / "split").exists() or not any((tmp_path / "split").rglob("wav.scp"))


@pytest.mark.parametrize("args", [[], ["wav.scp"], ["--bogus", "wav.scp", "a"], ["--utt2spk"]])
def test_wrong_calls_print_usage(run, tmp_path, args):
    write_scp(tmp_path / "wav.scp", 3)
    out = run("split_scp.pl", *args)
    assert out.returncode == 1
    assert "Usage: split_scp.pl" in out.stderr
