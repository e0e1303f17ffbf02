"""Crash safety: SIGKILL a sweep at random moments, crash a run inside a worker, read the
store while a sweep writes it. Whatever happens, every run the store shows is whole, none
appears twice, a completed run never disappears, and resuming gives exactly the runs (and
metrics) of an uninterrupted sweep.

The sweeps run through the real console command in their own process group (killing the
group kills the pool's workers too); the toy world reaches them through EMERGELAB_WORLDS.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from emergelab.lab.store import Store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups")

ROOT = Path(__file__).resolve().parents[2]
N_RUNS = 40
JUMPS = ",".join(str(j) for j in range(10, 10 + 2 * N_RUNS, 2))  # 40 runs of the quick toy (100 steps)
SLEEP = "0.003"  # s per step: ~0.3 s a run, so 12 kills fit in one 40-run sweep even when workers start fast
SWEEP = ["sweep", "toy", "-p", "quick", "-s", f"sleep={SLEEP}", "-g", f"jump_at={JUMPS}"]
ROWS = 100  # metric rows of one quick toy run: 50 logged steps x 2 metrics
STAGING = re.compile(r"^toy-[0-9a-f]{12}\.(\d+@[A-Za-z0-9-]+|old)\.[0-9a-f]{6}$")


def _env(store: Path) -> dict:
    env = dict(os.environ, EMERGELAB_STORE=str(store), EMERGELAB_WORLDS="tests.toyworld", COLUMNS="200")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _emergelab(*args):
    return [sys.executable, "-m", "emergelab", *args]


def _start(args, store: Path) -> subprocess.Popen:
    return subprocess.Popen(_emergelab(*args), env=_env(store), cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _group_gone(pgid: int, timeout: float = 5.0) -> None:
    """Wait until no live (non-zombie) process of the group is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for d in Path("/proc").glob("[0-9]*"):
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive = True
                break
        if not alive:
            return
        time.sleep(0.01)
    raise AssertionError(f"process group {pgid} still alive after SIGKILL")


def _folders(store: Path) -> list[str]:
    runs = store / "runs"
    return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []


def _inspect(store: Path, plan_ids: set[str]) -> tuple[set[str], int]:
    """Assert the store is consistent; return (complete run ids, staging leftovers in .tmp)."""
    names = _folders(store)
    assert set(names) <= plan_ids, set(names) - plan_ids  # no stray or half-named entry in runs/
    for rid in names:
        d = store / "runs" / rid
        assert d.is_dir(), rid
        meta = json.loads((d / "config.json").read_text())
        assert meta["run_id"] == rid and meta["world"] == "toy"
        summary = json.loads((d / "summary.json").read_text())
        assert "final" in summary and "wall_s" in summary
        t = pq.read_table(d / "metrics.parquet")
        assert t.num_rows == ROWS and set(t.column("run_id").to_pylist()) == {rid}
    cat = Store(store).runs()  # the catalogue: rebuilt from the folders if stale
    assert cat["run_id"].is_unique and set(cat["run_id"]) == set(names)
    if names:
        counts = Store(store).metrics(names).groupby("run_id").size()
        assert (counts == ROWS).all() and set(counts.index) == set(names)
    for f in (store / "sweeps").glob("*.json") if (store / "sweeps").is_dir() else []:
        assert set(json.loads(f.read_text())["run_ids"]) == plan_ids
    tmp = [p.name for p in (store / ".tmp").iterdir()] if (store / ".tmp").is_dir() else []
    assert all(STAGING.match(n) for n in tmp), tmp  # anything unfinished lives only in .tmp
    return set(names), len(tmp)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted sweep, run in-process: {run_id: (metrics frame, summary)}."""
    from emergelab.lab.sweep import execute, plan, parse_grid

    root = tmp_path_factory.mktemp("reference") / "store"
    specs = plan("toy", "quick", {"sleep": SLEEP}, parse_grid([f"jump_at={JUMPS}"]), 1)
    for s in specs:
        execute(s, str(root))
    return {s.run_id: _run_data(root, s.run_id) for s in specs}


def _run_data(store: Path, rid: str):
    m = pd.read_parquet(store / "runs" / rid / "metrics.parquet")
    m = m.astype({"run_id": str, "name": str}).sort_values(["name", "step"]).reset_index(drop=True)
    summary = json.loads((store / "runs" / rid / "summary.json").read_text())
    summary.pop("wall_s")
    return m, summary


def _kill_campaign(executor: str, store: Path, plan_ids: set[str], rng: random.Random, trials: int) -> list[dict]:
    """SIGKILL the sweep `trials` times at random moments; inspect the store after each."""
    args = [*SWEEP, "-x", executor, "-j", "2"]
    log, done = [], set()
    for _ in range(trials):
        t0 = time.monotonic()
        p = _start(args, store)
        # a quarter of the kills land anywhere from start-up on (imports, planning, the sweep
        # file, spawning workers); the rest once the sweep is writing runs
        early = rng.random() < 0.25
        if early:
            deadline = t0 + rng.uniform(0.05, 2.0)
            while time.monotonic() < deadline and p.poll() is None:
                time.sleep(0.005)
        else:
            while len(_folders(store)) <= len(done) and p.poll() is None and time.monotonic() < t0 + 120:
                time.sleep(0.005)
            deadline = time.monotonic() + rng.uniform(0.0, 0.3)
            while time.monotonic() < deadline and p.poll() is None:
                time.sleep(0.005)
        killed = p.poll() is None
        if killed:
            os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=60)
        if killed:
            _group_gone(p.pid)
        else:
            assert p.returncode == 0, err
        now, staging = _inspect(store, plan_ids)
        assert now >= done, done - now  # a completed run never disappears
        log.append({"executor": executor, "early": early, "killed": killed, "at_s": round(time.monotonic() - t0, 2),
                    "complete": len(now), "new": len(now - done), "staging_left": staging})
        done = now
        if not killed:
            break  # the sweep finished before the kill: nothing left to interrupt
    return log


@pytest.mark.slow
def test_sigkill_at_random_moments_never_corrupts_and_resumes(tmp_path, reference, capsys):
    rng = random.Random(20260107)
    plan_ids = set(reference)
    t0 = time.monotonic()
    logs = []
    for executor in ("serial", "process"):
        store = tmp_path / executor
        log = _kill_campaign(executor, store, plan_ids, rng, trials=12)
        logs += log
        before = _inspect(store, plan_ids)[0]
        r = subprocess.run(_emergelab(*SWEEP, "-x", executor, "-j", "2"), env=_env(store), cwd=ROOT,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
        assert r.returncode == 0, r.stderr
        if before:
            assert f"{len(before)} run(s) already in the store, skipped" in r.stdout
        after, staging = _inspect(store, plan_ids)
        assert after == plan_ids and len(_folders(store)) == N_RUNS  # every run, exactly once
        assert staging == 0  # the resumed sweep cleaned the killed workers' staging folders
        for rid in sorted(plan_ids):  # identical to the uninterrupted sweep
            m, summary = _run_data(store, rid)
            pd.testing.assert_frame_equal(m, reference[rid][0])
            assert summary == reference[rid][1]
    took = time.monotonic() - t0
    kills = [x for x in logs if x["killed"]]
    per = {e: sum(x["at_s"] for x in logs if x["executor"] == e) for e in ("serial", "process")}
    with capsys.disabled():
        print(f"\n[crash] {len(logs)} SIGKILL trials in {took:.0f} s (time to the kill: serial {per['serial']:.0f} s, "
              f"process {per['process']:.0f} s; {len(kills)} killed, "
              f"{len(logs) - len(kills)} finished first; {sum(x['early'] for x in logs)} aimed at start-up; "
              f"{sum(x['staging_left'] > 0 for x in kills)} left a half-written run in .tmp); "
              f"complete runs after each: {[x['complete'] for x in logs]}; every store check passed, "
              f"resumes gave {N_RUNS}/{N_RUNS} runs identical to the uninterrupted sweep")
    assert len(kills) >= 20


# ----------------------------------------------------------------- a crash inside a run

SMALL = ["sweep", "toy", "-p", "quick", "-g", "jump_at=20,30,40,50,60,70"]


def _plan_ids(*sets: str) -> list[str]:
    from emergelab.lab.config import parse_overrides
    from emergelab.lab.sweep import parse_grid, plan

    return [s.run_id for s in plan("toy", "quick", parse_overrides(sets), parse_grid(["jump_at=20,30,40,50,60,70"]), 1)]


@pytest.mark.parametrize("executor", ["serial", pytest.param("process", marks=pytest.mark.slow)])  # pool start-up: ~5-20 s
def test_an_error_in_one_run_fails_that_run_only(tmp_path, executor):
    store = tmp_path / "store"
    sets = ["crash=raise", "crash_at=40"]
    ids = _plan_ids(*sets)
    r = subprocess.run(_emergelab(*SMALL, *[x for s in sets for x in ("-s", s)], "-x", executor, "-j", "2"),
                       env=_env(store), cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr, (r.stdout, r.stderr)
    assert f"failed {ids[2]}: RuntimeError: toy crash" in r.stdout
    done, _ = _inspect(store, set(ids))
    assert done == set(ids) - {ids[2]}


@pytest.mark.parametrize("how", [pytest.param("exit", marks=pytest.mark.slow), "kill"])
def test_a_worker_that_dies_breaks_the_pool_but_loses_nothing(tmp_path, how):
    """os._exit or SIGKILL inside a pool worker: the pool breaks and cannot say which run did
    it. Completed runs stay whole, the unfinished ones are reported one clear line each, and
    a re-run resumes (the crashing run crashes again: it fails every time)."""
    store = tmp_path / "store"
    sets = [f"crash={how}", "crash_at=70"]  # the last run of the grid
    ids = _plan_ids(*sets)
    args = [*SMALL, *[x for s in sets for x in ("-s", s)], "-x", "process", "-j", "2"]
    r = subprocess.run(_emergelab(*args), env=_env(store), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr, (r.stdout, r.stderr)
    failed = re.findall(r"^failed (toy-[0-9a-f]+): (.*)$", r.stdout, re.M)
    assert ids[5] in dict(failed) and all("a worker process died abruptly" in m for _, m in failed), r.stdout
    done, _ = _inspect(store, set(ids))
    assert ids[5] not in done and done | set(dict(failed)) == set(ids)  # each run: complete or reported
    if how == "kill":
        return  # (the re-run costs another pool start-up: the slow tier does it, with "exit")
    r2 = subprocess.run(_emergelab(*args), env=_env(store), cwd=ROOT, capture_output=True, text=True, timeout=300)
    if set(ids) - done == {ids[5]}:
        # one run left: run_specs executes a lone run in the CLI's own process, so its hard
        # crash ends the CLI itself (exit 3, nothing printed); the store is still whole
        assert r2.returncode == 3, (r2.stdout, r2.stderr)
    else:
        assert r2.returncode == 1 and f"{len(done)} run(s) already in the store, skipped" in r2.stdout
    done2, _ = _inspect(store, set(ids))
    assert done2 >= done and ids[5] not in done2


@pytest.mark.parametrize("how, rc", [("exit", 3), ("kill", -signal.SIGKILL)])
def test_a_hard_crash_of_a_serial_sweep_keeps_the_completed_runs(tmp_path, how, rc):
    """Serial runs execute in the CLI process: a hard crash takes the sweep down with it."""
    store = tmp_path / "store"
    sets = [f"crash={how}", "crash_at=50"]
    ids = _plan_ids(*sets)
    r = subprocess.run(_emergelab(*SMALL, *[x for s in sets for x in ("-s", s)], "-x", "serial"),
                       env=_env(store), cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == rc, (r.stdout, r.stderr)
    done, staging = _inspect(store, set(ids))
    assert done == set(ids[:3]) and staging == 0  # it died before writing anything of run 4


# --------------------------------------------------------- reading while a sweep writes

def test_readers_never_see_a_partial_run(tmp_path, run_cli):
    store = tmp_path / "store"  # run_cli's store
    jumps = ",".join(str(j) for j in range(10, 70, 2))
    args = ["sweep", "toy", "-p", "quick", "-s", "sleep=0.001", "-g", f"jump_at={jumps}", "-x", "serial"]
    p = _start(args, store)
    seen, reads, cli_reads = set(), 0, 0
    try:
        while p.poll() is None:
            st = Store(store) if store.is_dir() else None
            if st is None:
                time.sleep(0.02)
                continue
            cat = st.runs()
            ids = list(cat["run_id"])
            assert cat["run_id"].is_unique and set(ids) >= seen  # listed runs stay listed
            if ids:
                m = st.metrics(ids)  # DuckDB over every listed run's file
                assert (m.groupby("run_id").size() == ROWS).all() and m["run_id"].nunique() == len(ids)
                assert st.run_meta(ids[-1])["summary"]["final"] > 0.9
            seen = set(ids)
            reads += 1
            if reads % 3 == 0:
                rc, out, err = run_cli("runs", "--limit", "1000")
                assert rc == 0 and err == "" and out.count("toy-") >= len(seen), err
                rc, out, err = run_cli("query", "SELECT run_id, count(*) AS n FROM metrics GROUP BY run_id HAVING n <> 100")
                assert rc == 0 and err == "" and "toy-" not in out, (out, err)
                cli_reads += 1
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert reads >= 5 and cli_reads >= 1, (reads, cli_reads)
    assert len(Store(store).runs()) == 30
