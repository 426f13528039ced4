"""Run the utils/ tools as a recipe does: through subprocess, with the venv's python3 on PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parents[2] / "utils"


def tool_env(extra_path: Path | None = None) -> dict[str, str]:
    """The environment of path.sh: the venv's bin first on PATH (and ``extra_path`` before it)."""
    env = dict(os.environ)
    dirs = [str(Path(sys.executable).parent), env.get("PATH", "")]
    if extra_path is not None:
        dirs.insert(0, str(extra_path))
    env["PATH"] = os.pathsep.join(dirs)
    return env


def run_tool(
    *args, cwd: Path, extra_path: Path | None = None, stdin: str | None = None, timeout=60
):
    """Run ``utils/<args[0]>`` with the remaining arguments; return the CompletedProcess."""
    return subprocess.run(
        [str(UTILS / args[0]), *map(str, args[1:])],
        cwd=cwd,
        env=tool_env(extra_path),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def utils_dir() -> Path:
    """The repository's utils/ directory."""
    return UTILS


@pytest.fixture
def run(tmp_path):
    """``run("run.pl", "JOB=1:2", ...)`` inside the test's tmp dir."""

    def _run(*args, **kwargs):
        kwargs.setdefault("cwd", tmp_path)
        return run_tool(*args, **kwargs)

    return _run
