"""The shell helpers of the staged recipes (egs/TEMPLATE/stage_utils.sh): parallel units."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGE_UTILS = ROOT / "egs" / "TEMPLATE" / "stage_utils.sh"


def bash(script: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; unset OMP_NUM_THREADS; . {STAGE_UTILS}\n{script}"],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def test_start_job_runs_at_most_n_at_once_each_on_its_share_of_the_cores(tmp_path):
    # Each job notes when it starts and ends; job 1 is the slowest. With 2 at once, job 3 starts
    # only when job 1 (the oldest) has ended.
    job = 'echo "start $1 $OMP_NUM_THREADS" >> log; sleep $2; echo "end $1" >> log'
    result = bash(
        f"job() {{ {job}; }}\n"
        "start_job 2 job 1 1.0; start_job 2 job 2 0.1; start_job 2 job 3 0.1; wait_jobs\n"
        "echo done >> log",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "log").read_text().split("\n")
    cores = int(subprocess.check_output(["getconf", "_NPROCESSORS_ONLN"]))
    threads = str(max(1, cores // 2))
    assert lines.index("end 1") < lines.index(f"start 3 {threads}")
    assert f"start 1 {threads}" in lines and lines[-2:] == ["done", ""]


def test_one_job_at_a_time_runs_in_the_foreground_with_the_callers_threads(tmp_path):
    result = bash(
        "start_job 1 bash -c 'sleep 0.2; echo ${OMP_NUM_THREADS:-unset} > fg'; cat fg\n"
        "start_job 1 false; touch after",
        tmp_path,
    )
    assert result.stdout == "unset\n"  # finished before start_job returned
    assert result.returncode == 1 and not (tmp_path / "after").exists()


def test_a_failed_job_stops_the_script_after_the_others_end(tmp_path):
    result = bash(
        "start_job 2 bash -c 'exit 3'; start_job 2 bash -c 'sleep 0.2; touch ok'; wait_jobs\n"
        "touch after",
        tmp_path,
    )
    assert result.returncode == 1 and "a parallel job failed" in result.stderr
    assert (tmp_path / "ok").exists() and not (tmp_path / "after").exists()
