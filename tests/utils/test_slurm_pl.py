"""utils/slurm.pl against a fake sbatch (and squeue) that the tests put first on PATH."""

from __future__ import annotations

import re

import pytest

# Records its arguments, then runs the job script (each array task) in the background, as Slurm
# would, so that slurm.pl has to wait for the done files.
FAKE_SBATCH = """#!/usr/bin/env bash
echo "$@" >> {record}
script=${{!#}}
array=
for a in "$@"; do case $a in --array=*) array=${{a#--array=}} ;; esac; done
if [ -n "$array" ]; then
  range=${{array%%\\%*}}
  for i in $(seq "${{range%-*}}" "${{range#*-}}"); do
    SLURM_JOB_ID=4242 SLURM_ARRAY_TASK_ID=$i bash "$script" > /dev/null 2>&1 &
  done
else
  SLURM_JOB_ID=4242 bash "$script" > /dev/null 2>&1 &
fi
echo "4242;cluster"
"""


def write_tool(bin_dir, name, text):
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / name).write_text(text)
    (bin_dir / name).chmod(0o755)


@pytest.fixture
def slurm(run, tmp_path):
    """Run slurm.pl with the fake sbatch; returns (result, the sbatch command lines)."""
    record = tmp_path / "sbatch.args"
    write_tool(tmp_path / "bin", "sbatch", FAKE_SBATCH.format(record=record))

    def _slurm(*args):
        out = run("slurm.pl", *args, extra_path=tmp_path / "bin")
        return out, record.read_text().splitlines() if record.exists() else []

    return _slurm


def check_log(path, command, code):
    lines = path.read_text().splitlines()
    assert lines[0] == f"# {command}"
    assert lines[1].startswith("# Started at ")
    assert re.match(rf"^# Ended \(code {code}\) at .+, elapsed time \d+ seconds$", lines[-1]), lines
    return lines[4:-1]


def test_array_job_runs_every_index_with_mapped_options(slurm, tmp_path):
    out, calls = slurm(
        "--mem", "4G", "--gpu", "1", "--time", "2:00:00", "--partition", "p", "--num_threads", "2",
        "--max_jobs_run", "2", "--sbatch_args", "--account=a --qos=q",
        "JOB=1:3", "exp/log/x.JOB.log", "sleep 0.2; echo job JOB",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for job in (1, 2, 3):
        assert check_log(tmp_path / f"exp/log/x.{job}.log", f"sleep 0.2; echo job {job}", 0) == [
            f"job {job}"
        ]
        assert (tmp_path / f"exp/log/q/x.{job}.done").read_text() == "0\n"
    [call] = calls
    flags = call.split()
    for flag in ["--mem=4G", "--gres=gpu:1", "--time=2:00:00", "--partition=p",
                 "--cpus-per-task=2", "--array=1-3%2", "--account=a", "--qos=q"]:  # fmt: skip
        assert flag in flags
    assert f"--output={tmp_path}/exp/log/q/x.%a.out" in flags


def test_failed_tasks_are_named(slurm, tmp_path):
    out, _ = slurm("JOB=2:5", "log/f.JOB.log", "echo", "JOB", "|", "grep", "-q", "[24]")
    assert out.returncode == 1
    assert "slurm.pl: 2 / 4 failed, logs are in log/f.3.log log/f.5.log" in out.stderr
    check_log(tmp_path / "log/f.3.log", "echo 3 | grep -q [24]", 1)
    check_log(tmp_path / "log/f.4.log", "echo 4 | grep -q [24]", 0)


def test_one_job_form_and_gpu_zero(slurm, tmp_path):
    out, [call] = slurm("--gpu", "0", "log/one.log", "echo", "a  b")
    assert out.returncode == 0, out.stderr
    assert check_log(tmp_path / "log/one.log", "echo 'a  b'", 0) == ["a  b"]
    assert "--array" not in call and "--gres" not in call
    assert call.endswith(f"{tmp_path}/log/q/one.sh")


def test_config_gives_defaults_and_command_line_wins(slurm, tmp_path):
    (tmp_path / "slurm.conf").write_text("# cluster defaults\n--mem 2G\n--partition gpu\n")
    out, [call] = slurm("--config", "slurm.conf", "--mem", "8G", "log/c.log", "true")
    assert out.returncode == 0, out.stderr
    assert "--mem=8G" in call.split() and "--partition=gpu" in call.split()
    (tmp_path / "bad.conf").write_text("--mem 2G\n--colour red\n")
    out, _ = slurm("--config", "bad.conf", "log/c.log", "true")
    assert out.returncode == 1
    assert "bad.conf:2: unknown option --colour" in out.stderr


def test_job_gone_from_queue_without_done_file_fails(run, tmp_path):
    write_tool(tmp_path / "bin", "sbatch", "#!/bin/sh\necho 777\n")  # accepts, never runs
    write_tool(tmp_path / "bin", "squeue", "#!/bin/sh\nexit 0\n")  # knows no such job
    out = run(
        "slurm.pl", "--check_interval", "0.3", "JOB=1:2", "log/g.JOB.log", "true",
        extra_path=tmp_path / "bin",
    )  # fmt: skip
    assert out.returncode == 1
    assert "slurm.pl: 2 / 2 failed, logs are in log/g.1.log log/g.2.log" in out.stderr
    assert (
        "Slurm job 777 ended without finishing this task" in (tmp_path / "log/g.1.log").read_text()
    )


def test_sbatch_failure_stops(run, tmp_path):
    write_tool(
        tmp_path / "bin", "sbatch", "#!/bin/sh\necho 'sbatch: error: no partition' >&2\nexit 1\n"
    )
    out = run("slurm.pl", "JOB=1:2", "log/e.JOB.log", "true", extra_path=tmp_path / "bin")
    assert out.returncode == 1
    assert "sbatch: error: no partition" in out.stderr
    assert "slurm.pl: sbatch failed" in out.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "Usage: slurm.pl"),
        (["--foo", "1", "log", "true"], "unknown option --foo"),
        (["--gpu", "x", "log", "true"], "--gpu takes a whole number"),
    ],
)
def test_wrong_calls_fail(slurm, args, message):
    out, calls = slurm(*args)
    assert out.returncode == 1
    assert message in out.stderr
    assert calls == []
