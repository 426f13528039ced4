"""The repository stands on its own: no file refers to notes that a clone does not contain."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Built from parts, so that this file does not match itself.
OUTSIDE = ["../" + "shared", "PAPERS" + ".md", "DESIGN" + ".md", "STYLE" + ".md"]


def test_no_file_refers_to_notes_outside_the_repository():
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    found = []
    for name in filter(None, listed.stdout.split("\0")):
        path = ROOT / name
        if path.is_symlink() or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{name}: {needle}" for needle in OUTSIDE if needle in text]
    assert found == [], "method notes belong in docs/methods.md"
    assert (ROOT / "docs" / "methods.md").is_file()
