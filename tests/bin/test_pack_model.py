"""emorl.bin.pack_model and Recognizer.from_pretrained: contents, portability, checksums."""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "infer"))
from ser_exp import LABELS, make_ser_exp, speechlike, whisper_small_model  # noqa: E402

from emorl.bin import pack_model, recognize  # noqa: E402
from emorl.infer import Recognizer, RecognizerError, read_manifest  # noqa: E402
from emorl.infer.pack import MANIFEST  # noqa: E402
from emorl.version import git_commit  # noqa: E402


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """The recipe dir of a small stage-3 experiment (exp/fbank/ser_ser/seed1)."""
    return make_ser_exp(tmp_path_factory.mktemp("recipe")).parents[3]


@pytest.fixture(scope="module")
def packed(recipe, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("packed") / "model.zip"
    pack_model.main(["--exp_dir", str(recipe / "exp/fbank/ser_ser/seed1"), "--out", str(out)])
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("clips")
    for i in range(4):
        soundfile.write(root / f"c{i}.wav", speechlike(0.8 + 0.2 * i, i, seed=50 + i), 16000)
    return sorted(root.iterdir())


def test_the_archive_holds_the_model_its_features_and_results(recipe, packed):
    exp = recipe / "exp/fbank/ser_ser/seed1"
    with zipfile.ZipFile(packed) as archive:
        names = sorted(archive.namelist())
        results = archive.read("RESULTS").decode().splitlines()
        assert archive.read("model.pt") == (exp / "model.pt").read_bytes()
    assert names == sorted(
        [MANIFEST, "RESULTS", "config.yaml", "feats_info.json", "labels", "model.pt"]
    )  # no upstream weights
    manifest = read_manifest(packed)
    assert manifest["kind"] == "ser" and manifest["labels"] == LABELS
    assert manifest["upstream"] == {
        "name": "fbank",
        "options": {"fbank_num_mel_bins": 40},
        "layers": [0],
        "pooling": "none",
        "downsample": 2,
        "dtype": "float16",
        "weights": None,
    }
    assert manifest["git_commit"] == git_commit(mark_dirty=True)
    assert set(manifest["sha256"]) == set(names) - {MANIFEST}
    scores = json.loads((exp / "decode_test/scores.json").read_text())
    ua, wa, f1, wf1 = (100 * scores[k] for k in ("ua", "wa", "macro_f1", "weighted_f1"))
    expected = f"test: UA {ua:.1f} WA {wa:.1f} macro-F1 {f1:.1f} weighted-F1 {wf1:.1f} (8 utts)"
    assert results == manifest["results"] == [expected]


def test_a_packed_model_recognises_as_its_exp_dir_without_it(recipe, packed, clips, tmp_path):
    """Packed from a copy of the recipe that is then deleted: nothing outside the archive is read
    (fbank needs no weights)."""
    copy = tmp_path / "recipe"
    shutil.copytree(recipe / "exp", copy / "exp")
    shutil.copytree(recipe / "dump", copy / "dump")
    moved = tmp_path / "moved.zip"
    pack_model.main(["--exp_dir", str(copy / "exp/fbank/ser_ser/seed1"), "--out", str(moved)])
    shutil.rmtree(copy)
    from_zip = Recognizer.from_pretrained(moved).recognize_batch(clips)
    from_dir = Recognizer.from_exp_dir(recipe / "exp/fbank/ser_ser/seed1").recognize_batch(clips)
    for a, b in zip(from_zip, from_dir):
        assert a.label == b.label and a.posteriors == b.posteriors


def test_recognize_cli_takes_a_packed_model(packed, clips, capsys):
    recognize.main(["--model", str(packed), *map(str, clips)])
    out = capsys.readouterr().out.strip().split("\n")
    assert [line.split("\t")[0] for line in out] == [str(c) for c in clips]
    assert all(line.split("\t")[1] in LABELS for line in out)


def rewrite(src: Path, dst: Path, member: str, data: bytes | None) -> Path:
    """A copy of an archive with one member replaced (or dropped when ``data`` is None)."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for name in a.namelist():
            if name != member:
                b.writestr(name, a.read(name))
            elif data is not None:
                b.writestr(name, data)
    return dst


def test_a_corrupt_or_foreign_archive_stops(packed, clips, tmp_path, capsys):
    with zipfile.ZipFile(packed) as archive:
        weights = bytearray(archive.read("model.pt"))
    weights[-100] ^= 0xFF
    bad = rewrite(packed, tmp_path / "bad.zip", "model.pt", bytes(weights))
    with pytest.raises(RecognizerError, match=r"bad.zip: checksum mismatch for model.pt"):
        Recognizer.from_pretrained(bad)
    with pytest.raises(SystemExit) as stop:
        recognize.main(["--model", str(bad), str(clips[0])])
    assert stop.value.code == 1 and "checksum mismatch for model.pt" in capsys.readouterr().err
    partial = rewrite(packed, tmp_path / "partial.zip", "labels", None)
    with pytest.raises(RecognizerError, match="but its manifest lists"):
        Recognizer.from_pretrained(partial)
    foreign = tmp_path / "foreign.zip"
    foreign.write_text("not a zip")
    with pytest.raises(RecognizerError, match="foreign.zip: not a packed emorl model"):
        Recognizer.from_pretrained(foreign)


def test_packing_a_dir_without_a_model_stops(tmp_path, capsys):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp/config.yaml").write_text("seed: 1\n")
    with pytest.raises(SystemExit) as stop:
        pack_model.main(["--exp_dir", str(tmp_path / "exp"), "--out", str(tmp_path / "m.zip")])
    assert stop.value.code == 1
    assert "no model of a known kind; it holds config.yaml" in capsys.readouterr().err
    assert not (tmp_path / "m.zip").exists()


def test_upstream_weights_are_looked_for_on_the_loading_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("EMORL_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model_dir = whisper_small_model(tmp_path / "exp", "/other/machine/whisper/small.pt")
    out = tmp_path / "small.zip"
    pack_model.main(["--exp_dir", str(model_dir), "--out", str(out)])
    assert read_manifest(out)["upstream"]["weights"] == "/other/machine/whisper/small.pt"
    with pytest.raises(RecognizerError) as error:
        Recognizer.from_pretrained(out)
    message = str(error.value)
    assert message.startswith(f"{out}: the model was trained on whisper_small features")
    assert str(tmp_path / "models/whisper/small.pt") in message
    assert "emorl_model_" not in message  # the archive is named, not its temporary copy
