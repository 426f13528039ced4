"""Which code made an output."""

import re

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
