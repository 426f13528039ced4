"""Which code made an output: emorl's version and, in a checkout, its git commit."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import emorl

REPO = Path(emorl.__file__).resolve().parents[1]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _in_repo(path: str | os.PathLike) -> str | None:
    """``path`` relative to the checkout's top, or None when it lies outside."""
    try:
        return Path(path).resolve().relative_to(REPO).as_posix()
    except ValueError:
        return None


def git_commit(mark_dirty: bool = False, ignore: Sequence[str | os.PathLike] = ()) -> str | None:
    """The checkout's short commit (with ``+dirty`` if asked and tracked files changed, other than
    the files ``ignore``, e.g. the README a report is rewriting); None outside a git checkout."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        excluded = [f":(top,exclude){_in_repo(path)}" for path in ignore if _in_repo(path)]
        if mark_dirty and _git(
            "status", "--porcelain", "--untracked-files=no", "--", ":/", *excluded
        ):
            commit += "+dirty"
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit


def code_version() -> str:
    """emorl's version, plus the git commit when running from a checkout."""
    commit = git_commit()
    return emorl.__version__ if commit is None else f"{emorl.__version__}+g{commit}"
