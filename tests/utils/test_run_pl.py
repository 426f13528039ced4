"""utils/run.pl: local parallel jobs with per-job logs."""

from __future__ import annotations

import os
import re

import pytest

END = re.compile(r"^# Ended \(code (\d+)\) at .+, elapsed time \d+ seconds$")


def check_log(path, command, code):
    """A log starts with the command line and the start time and ends with the exit code."""
    lines = path.read_text().splitlines()
    assert lines[0] == f"# {command}"
    assert lines[1].startswith("# Started at ")
    match = END.match(lines[-1])
    assert match and int(match.group(1)) == code, lines[-1]
    return lines[3:-1]


def test_job_substitution_per_job_logs_and_pipes(run, tmp_path):
    out = run(
        "run.pl",
        "JOB=1:3",
        "log/a/x.JOB.log",
        "echo",
        "job",
        "JOB",
        "x  y",
        "|",
        "tr",
        "a-z",
        "A-Z",
    )
    assert out.returncode == 0, out.stderr
    for job in (1, 2, 3):
        body = check_log(tmp_path / f"log/a/x.{job}.log", f"echo job {job} 'x  y' | tr a-z A-Z", 0)
        assert body == [f"JOB {job} X  Y"]
    assert sorted(p.name for p in (tmp_path / "log/a").iterdir()) == [
        "x.1.log",
        "x.2.log",
        "x.3.log",
    ]


def test_other_job_variable_and_range(run, tmp_path):
    out = run("run.pl", "SPLIT=3:4", "log/s.SPLIT.log", "echo", "part", "SPLIT")
    assert out.returncode == 0
    assert check_log(tmp_path / "log/s.4.log", "echo part 4", 0) == ["part 4"]
    assert not (tmp_path / "log/s.1.log").exists()


def test_failing_jobs_propagate_and_name_their_logs(run, tmp_path):
    out = run("run.pl", "JOB=1:4", "log/b.JOB.log", "echo start; exit $((JOB % 2))")
    assert out.returncode == 1
    assert "run.pl: 2 / 4 failed, logs are in log/b.1.log log/b.3.log" in out.stderr
    assert check_log(tmp_path / "log/b.1.log", "echo start; exit $((1 % 2))", 1) == ["start"]
    check_log(tmp_path / "log/b.2.log", "echo start; exit $((2 % 2))", 0)


def test_one_job_form_and_quoting(run, tmp_path):
    out = run("run.pl", "log/one.log", "bash", "-c", 'echo "it\'s" >&2; kill -9 $$')
    assert out.returncode == 1
    assert out.stderr.strip() == "run.pl: 1 / 1 failed, log is in log/one.log"
    assert check_log(
        tmp_path / "log/one.log", "bash -c 'echo \"it'\\''s\" >&2; kill -9 $$'", 137
    ) == ["it's"]
    out = run("run.pl", "two.log", "printf 'b\\na\\n' | sort > sorted.txt")
    assert out.returncode == 0
    assert (tmp_path / "sorted.txt").read_text() == "a\nb\n"


@pytest.mark.parametrize("max_jobs", [1, 2])
def test_max_jobs_run_is_respected(run, tmp_path, max_jobs):
    (tmp_path / "running").mkdir()
    job = "touch running/JOB; ls running | wc -l >> counts; sleep 0.4; rm running/JOB"
    out = run("run.pl", "--max_jobs_run", max_jobs, "JOB=1:6", "log/m.JOB.log", job)
    assert out.returncode == 0, out.stderr
    counts = [int(c) for c in (tmp_path / "counts").read_text().split()]
    assert len(counts) == 6
    assert max(counts) == max_jobs  # never more, and with 2 the jobs do overlap


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores")
def test_jobs_run_on_every_core_even_with_omp_num_threads_1(run, tmp_path, monkeypatch):
    # GNU nproc answers OMP_NUM_THREADS: recipes run with OMP_NUM_THREADS=1 must still run
    # their jobs in parallel.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    (tmp_path / "running").mkdir()
    job = "touch running/JOB; ls running | wc -l >> counts; sleep 0.4; rm running/JOB"
    out = run("run.pl", "JOB=1:4", "log/m.JOB.log", job)
    assert out.returncode == 0, out.stderr
    assert max(int(c) for c in (tmp_path / "counts").read_text().split()) >= 2


@pytest.mark.parametrize(
    "args, message",
    [
        ([], ""),
        (["log.log"], ""),
        (["--foo", "1", "log", "true"], "run.pl: unknown option --foo"),
        (["--max_jobs_run", "0", "log", "true"], "--max_jobs_run takes a positive integer"),
        (["JOB=1:3", "log/c.log", "true"], "put JOB in the name of log/c.log"),
        (["JOB=3:1", "log/JOB.log", "true"], "empty job range JOB=3:1"),
    ],
)
def test_wrong_calls_print_usage(run, tmp_path, args, message):
    out = run("run.pl", *args)
    assert out.returncode == 1
    assert message in out.stderr
    assert "Usage: run.pl" in out.stderr
    assert not list(tmp_path.glob("log*"))


def test_slurm_options_are_accepted_and_ignored(run, tmp_path):
    out = run(
        "run.pl", "--mem", "4G", "--gpu", "1", "--time=1:00:00", "JOB=1:2", "l.JOB.log", "true"
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "l.2.log").exists()
