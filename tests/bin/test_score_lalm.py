"""score_lalm's command line: the caption language and the options of one task."""

import json
import math

import pytest

from emorl.bin import score_lalm
from emorl.lalm.decode_dir import Decoded, write_lalm_decode_dir
from emorl.metrics import caption


@pytest.fixture
def cap_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(caption, "meteor", lambda hyps, refs: [0.0] * len(hyps))
    data = tmp_path / "data"
    data.mkdir()
    (data / "utt2caption").write_text("u1 她非常开心\nu2 他很难过\n", encoding="utf-8")
    (data / "utt2emo").write_text("u1 happy\nu2 sad\n")
    decoded = [Decoded("u1", "", "她很开心", True), Decoded("u2", "", "他难过", True)]
    write_lalm_decode_dir(tmp_path / "decode", "cap", decoded)
    return data, tmp_path / "decode"


def scores_of(decode):
    return json.loads((decode / "scores.json").read_text(encoding="utf-8"))


def test_language_picks_the_bleu_tokeniser(cap_dirs):
    data, decode = cap_dirs
    base = ["--task", "cap", "--data_dir", str(data), "--decode_dir", str(decode)]
    score_lalm.main(base)
    auto = scores_of(decode)
    assert (auto["language"], auto["bleu_tokenize"]) == ("zh", "zh")
    # characters: u1 她很开心 against 她非常开心 (3 of 4 match), u2 他难过 against 他很难过 (3 of 3)
    assert auto["bleu1"] == pytest.approx(100 * 6 / 7 * math.exp(1 - 9 / 7))
    assert auto["emo_f1"] == pytest.approx(100) and auto["emo_extractor_acc_on_refs"] == 100
    score_lalm.main([*base, "--language", "zh"])
    assert scores_of(decode)["bleu1"] == auto["bleu1"]
    score_lalm.main([*base, "--language", "en"])
    en = scores_of(decode)
    assert (en["language"], en["bleu_tokenize"]) == ("en", "13a")
    assert en["bleu1"] == 0  # 13a keeps each caption one token: no hypothesis equals its reference


def test_options_of_another_task_stop(cap_dirs, capsys):
    data, decode = cap_dirs
    with pytest.raises(SystemExit):
        score_lalm.main(
            [
                "--task",
                "ov",
                "--data_dir",
                str(data),
                "--decode_dir",
                str(decode),
                "--language",
                "zh",
            ]
        )
    assert "--language is an option of --task cap" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        score_lalm.main(
            ["--task", "cap", "--data_dir", str(data), "--decode_dir", str(decode),
             "--label_map", "map.txt"]
        )  # fmt: skip
    assert "--label_map is an option of --task emo" in capsys.readouterr().err
