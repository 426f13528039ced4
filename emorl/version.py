"""Which code made an output: emorl's version and, in a checkout, its git commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import emorl

REPO = Path(emorl.__file__).resolve().parents[1]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def git_commit(mark_dirty: bool = False) -> str | None:
    """The checkout's short commit (with ``+dirty`` if asked and tracked files changed); None
    outside a git checkout."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        if mark_dirty and _git("status", "--porcelain", "--untracked-files=no"):
            commit += "+dirty"
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit


def code_version() -> str:
    """emorl's version, plus the git commit when running from a checkout."""
    commit = git_commit()
    return emorl.__version__ if commit is None else f"{emorl.__version__}+g{commit}"
