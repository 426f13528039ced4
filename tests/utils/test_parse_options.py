"""utils/parse_options.sh, sourced by a script as recipes do."""

from __future__ import annotations

import subprocess

import pytest

SCRIPT = """#!/usr/bin/env bash
set -euo pipefail
nj=4
use_gpu=false
upstream_conf=base
help_message="Usage: $0 [options] <data-dir>
  --nj N    number of jobs"
. {utils}/parse_options.sh
echo "nj=$nj use_gpu=$use_gpu upstream_conf=$upstream_conf"
echo "args=$#:$*"
"""


@pytest.fixture
def script(tmp_path, utils_dir):
    """Run a script with defaults nj=4 use_gpu=false upstream_conf=base that sources the parser."""
    path = tmp_path / "script.sh"
    path.write_text(SCRIPT.replace("{utils}", str(utils_dir)))
    path.chmod(0o755)

    def _run(*args):
        return subprocess.run([str(path), *args], capture_output=True, text=True, cwd=tmp_path)

    return _run


def test_options_override_defaults_and_positionals_stay(script):
    out = script(
        "--nj", "8", "--use-gpu", "true", "--upstream_conf=a=b c", "data/train", "--nj", "3"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "nj=8 use_gpu=true upstream_conf=a=b c",
        "args=3:data/train --nj 3",
    ]


def test_defaults_without_options(script):
    out = script("x")
    assert out.stdout.splitlines() == ["nj=4 use_gpu=false upstream_conf=base", "args=1:x"]


def test_double_dash_ends_options(script):
    out = script("--nj", "2", "--", "--nj", "5")
    assert out.stdout.splitlines() == ["nj=2 use_gpu=false upstream_conf=base", "args=2:--nj 5"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--foo", "1"], "unknown option --foo"),
        (["--no-such-thing=1"], "unknown option --no-such-thing"),
        (["--nj"], "option --nj needs a value"),
        (["--use_gpu", "yes"], "option --use_gpu takes true or false, got 'yes'"),
        (["--1x", "2"], "invalid option --1x"),
    ],
)
def test_bad_option_stops_naming_it(script, args, message):
    out = script(*args)
    assert out.returncode == 1
    assert message in out.stderr
    assert out.stdout == ""


def test_config_is_sourced_first_and_command_line_wins(script, tmp_path):
    (tmp_path / "a.conf").write_text('# defaults\n\nnj=7\nupstream_conf="large v2"\n')
    out = script("--nj", "2", "--config", "a.conf", "d")
    assert out.stdout.splitlines() == ["nj=2 use_gpu=false upstream_conf=large v2", "args=1:d"]
    out = script("--config=a.conf")
    assert out.stdout.splitlines()[0] == "nj=7 use_gpu=false upstream_conf=large v2"


def test_config_with_unknown_name_stops_naming_file_and_line(script, tmp_path):
    (tmp_path / "b.conf").write_text("nj=3\nbogus=1\n")
    out = script("--config", "b.conf")
    assert out.returncode == 1
    assert "unknown option bogus in b.conf:2" in out.stderr
    (tmp_path / "c.conf").write_text("echo hello\n")
    out = script("--config", "c.conf")
    assert out.returncode == 1
    assert "c.conf:1: expected name=value" in out.stderr
    out = script("--config", "missing.conf")
    assert out.returncode == 1
    assert "missing.conf: no such file" in out.stderr


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_help_message(script, flag):
    out = script("--nj", "3", flag)
    assert out.returncode == 0
    assert out.stdout.startswith("Usage: ")
    assert "--nj N    number of jobs" in out.stdout
    assert "nj=" not in out.stdout


def test_helpers_do_not_leak_and_function_scope_works(tmp_path, utils_dir):
    path = tmp_path / "f.sh"
    path.write_text(
        f'nj=9\nf() {{ local nj=1; . {utils_dir}/parse_options.sh; echo "f:$nj:$*"; }}\n'
        'f --nj 3 z\necho "global:$nj"\n'
        "set | grep -c '^_po_' || true\ndeclare -F | grep -c _po_ || true\n"
    )
    out = subprocess.run(["bash", str(path)], capture_output=True, text=True)
    assert out.stdout.splitlines() == ["f:3:z", "global:9", "0", "0"]


def test_executing_it_prints_usage(utils_dir):
    out = subprocess.run(
        ["bash", str(utils_dir / "parse_options.sh")], capture_output=True, text=True
    )
    assert out.returncode == 1
    assert "Usage: . utils/parse_options.sh" in out.stderr
