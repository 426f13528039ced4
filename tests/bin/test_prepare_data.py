"""Stage 1's dispatcher: corpus modules by name, their own options, clear errors."""

import pytest

import emorl.data.corpora
from emorl.bin import prepare_data

FAKE = '''"""A fake corpus."""
calls = []


def add_arguments(parser):
    parser.add_argument("--size", default="small")


def prepare(corpus_dir, output_dir, size):
    calls.append((str(corpus_dir), str(output_dir), size))
'''


@pytest.fixture
def fake_corpus(tmp_path, monkeypatch):
    (tmp_path / "fakecorpus.py").write_text(FAKE)
    monkeypatch.setattr(
        emorl.data.corpora, "__path__", [*emorl.data.corpora.__path__, str(tmp_path)]
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    import sys

    module = importlib.import_module("fakecorpus")
    monkeypatch.setitem(sys.modules, "emorl.data.corpora.fakecorpus", module)
    return module


def test_dispatches_with_corpus_options(fake_corpus, tmp_path):
    assert "fakecorpus" in prepare_data.corpus_names()
    prepare_data.main(
        ["--corpus", "fakecorpus", "--corpus_dir", "/c", "--output_dir", "/o", "--size", "big"]
    )
    assert fake_corpus.calls == [("/c", "/o", "big")]


def test_unknown_corpus_lists_the_known(capsys):
    with pytest.raises(SystemExit):
        prepare_data.main(["--corpus", "nope", "--corpus_dir", "/c", "--output_dir", "/o"])
    assert "unknown corpus 'nope'; choose from" in capsys.readouterr().err


def test_unknown_corpus_option_is_an_error(fake_corpus, capsys):
    with pytest.raises(SystemExit):
        prepare_data.main(
            ["--corpus", "fakecorpus", "--corpus_dir", "/c", "--output_dir", "/o", "--nope", "1"]
        )
    assert "unrecognized arguments: --nope 1" in capsys.readouterr().err


def test_corpus_errors_end_with_a_message_not_a_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit, match="prepare_data: error: .*nowhere"):
        prepare_data.main(
            [
                "--corpus",
                "iemocap",
                "--corpus_dir",
                str(tmp_path / "nowhere"),
                "--output_dir",
                str(tmp_path),
            ]
        )
