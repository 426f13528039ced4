"""tools/check_install.py: OK / missing / broken, and its exit code."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def check_install():
    spec = importlib.util.spec_from_file_location(
        "check_install", ROOT / "tools" / "check_install.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_statuses(check_install, tmp_path, monkeypatch):
    assert check_install.check_package("json", "pyyaml")[0] == "OK"
    assert check_install.check_package("x", "no-such-distribution-emorl") == (
        "missing",
        "pip install no-such-distribution-emorl",
    )
    (tmp_path / "broken_mod.py").write_text("raise ImportError('libfoo.so: cannot open')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    status, detail = check_install.check_package("broken_mod", "pyyaml")
    assert status == "broken" and "libfoo.so" in detail
    (tmp_path / "bad.pt").write_text("nope")
    assert check_install.check_checkpoint(tmp_path / "bad.pt")[0] == "broken"
    assert check_install.check_checkpoint(tmp_path / "none.pt")[0] == "missing"


def test_exit_code_follows_required_components(check_install, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(check_install, "CHECKPOINTS", [])
    monkeypatch.setattr(
        check_install, "PACKAGES", [("json", "pyyaml", True), ("x", "no-such-dist-emorl", False)]
    )
    assert check_install.main() == 0
    monkeypatch.setattr(check_install, "PACKAGES", [("x", "no-such-dist-emorl", True)])
    assert check_install.main() == 1
    assert "required components not OK: x" in capsys.readouterr().err
