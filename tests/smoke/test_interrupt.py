"""Process executor and Ctrl-C safety, through the real console entry point.

The toy world reaches the spawned workers through EMERGELAB_WORLDS (the plug-in hook for
users' own worlds)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env(store: Path) -> dict:
    env = dict(os.environ, EMERGELAB_STORE=str(store), EMERGELAB_WORLDS="tests.toyworld")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _emergelab(*args):
    return [sys.executable, "-m", "emergelab", *args]


def _complete(store: Path) -> list[str]:
    runs = store / "runs"
    return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []


def test_process_executor_runs_a_sweep(tmp_path):
    store = tmp_path / "store"
    r = subprocess.run(_emergelab("sweep", "toy", "-p", "quick", "-g", "jump_at=30,60", "-n", "2", "-j", "2"),
                       env=_env(store), cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert len(_complete(store)) == 4
    assert all((store / "runs" / d / "summary.json").is_file() for d in _complete(store))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_keeps_completed_runs_and_resumes(tmp_path):
    store = tmp_path / "store"
    args = ["sweep", "toy", "-p", "quick", "-s", "sleep=0.03", "-g", "jump_at=20,30,40,50,60,70,80", "-j", "2"]
    p = subprocess.Popen(_emergelab(*args), env=_env(store), cwd=ROOT, start_new_session=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.time() + 90
    while len(_complete(store)) < 1 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    out, err = p.communicate(timeout=60)
    done = _complete(store)
    assert p.returncode == 130, (out, err)
    assert "re-run the same command to resume" in out
    assert 1 <= len(done) < 7
    for d in done:  # everything visible is whole
        assert {f.name for f in (store / "runs" / d).iterdir()} >= {"config.json", "metrics.parquet", "summary.json"}
    r = subprocess.run(_emergelab(*args), env=_env(store), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"{len(done)} run(s) already in the store, skipped" in r.stdout
    assert len(_complete(store)) == 7
    assert not [p for p in (store / ".tmp").iterdir()]  # killed workers' staging was cleaned
