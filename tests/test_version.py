"""Which code made an output."""

import re
import subprocess

import emorl
from emorl import version


def test_in_a_checkout_the_commit_is_recorded():
    commit = version.git_commit()
    assert re.fullmatch(r"[0-9a-f]{7,}", commit)
    assert version.code_version() == f"{emorl.__version__}+g{commit}"
    assert re.fullmatch(r"[0-9a-f]{7,}(\+dirty)?", version.git_commit(mark_dirty=True))


def test_outside_a_checkout_only_the_version(tmp_path, monkeypatch):
    monkeypatch.setattr(version, "REPO", tmp_path)
    assert version.git_commit() is None
    assert version.code_version() == emorl.__version__


def test_dirty_unless_only_the_ignored_files_changed(tmp_path, monkeypatch):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "README.md").write_text("results\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    monkeypatch.setattr(version, "REPO", tmp_path)
    readme = tmp_path / "README.md"
    assert not version.git_commit(mark_dirty=True).endswith("+dirty")
    readme.write_text("new results\n")
    assert version.git_commit(mark_dirty=True).endswith("+dirty")
    assert not version.git_commit(mark_dirty=True, ignore=[readme]).endswith("+dirty")
    (tmp_path / "code.py").write_text("x = 2\n")
    assert version.git_commit(mark_dirty=True, ignore=[readme]).endswith("+dirty")
    assert version.git_commit(mark_dirty=True, ignore=["/elsewhere/README.md"]).endswith("+dirty")
