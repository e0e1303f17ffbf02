"""The Ray executor on a local 2-CPU Ray instance shared by the module's tests: the same
runs as the serial executor, resumption, the no-shared-file-system path, failures kept per
run, Ctrl-C cancelling the tasks; and the errors when Ray is missing or misused."""

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from emergelab.lab.executors import run_specs
from emergelab.lab.store import Store
from emergelab.lab.sweep import FinishedRun, plan

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as mp:
        # the local instance's workers inherit this environment: they find the toy world
        mp.setenv("EMERGELAB_WORLDS", "tests.toyworld")
        mp.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield ray  # run_specs uses this instance and leaves it running
        finally:
            ray.shutdown()


def _fingerprint(store: Store, run_id: str):
    d = store.runs_dir / run_id
    summary = json.loads((d / "summary.json").read_text())
    summary.pop("wall_s")
    meta = json.loads((d / "config.json").read_text())
    for k in ("created", "host"):
        meta.pop(k)
    arts = {p.name: np.load(p) for p in sorted((d / "artefacts").glob("*.npy"))} if (d / "artefacts").is_dir() else {}
    others = sorted(p.name for p in (d / "artefacts").iterdir()) if (d / "artefacts").is_dir() else []
    return summary, meta, store.metrics([run_id]), arts, others


def _assert_same_runs(a: Store, b: Store, run_ids) -> None:
    for rid in run_ids:
        sa, ma, xa, ra, oa = _fingerprint(a, rid)
        sb, mb, xb, rb, ob = _fingerprint(b, rid)
        assert sa == sb and ma == mb and oa == ob, rid
        assert xa.equals(xb), rid
        assert ra.keys() == rb.keys() and all(np.array_equal(ra[k], rb[k]) for k in ra), rid


def test_toy_sweep_matches_serial_and_resumes(ray_local, tmp_path):
    specs = plan("toy", "quick", grid={"jump_at": ["30", "60"]}, seeds=3)
    serial, ray_store = Store(tmp_path / "serial"), Store(tmp_path / "ray")
    assert not run_specs(specs, serial, executor="serial", progress=False).failed
    first = run_specs(specs[:2], ray_store, executor="ray", progress=False)
    assert sorted(first.done) == sorted(s.run_id for s in specs[:2]) and not first.failed
    seen = []
    out = run_specs(specs, ray_store, executor="ray", chunk_size=2, progress=False,
                    on_done=lambda rid, summ: seen.append(rid))  # fmt: skip
    assert sorted(out.skipped) == sorted(first.done)  # resumed: only the rest ran
    assert sorted(out.done) == sorted(seen) == sorted(s.run_id for s in specs[2:]) and not out.failed
    assert out.done[specs[2].run_id]["final"] == json.loads((ray_store.runs_dir / specs[2].run_id / "summary.json").read_text())["final"]
    _assert_same_runs(serial, ray_store, [s.run_id for s in specs])
    assert not list(ray_store.tmp_dir.iterdir())  # no probe or staging left behind


def test_real_world_through_the_api_matches_serial(ray_local, tmp_path):
    import emergelab

    kw = dict(grid={"h_end": [2.7, 2.77]}, seeds=2, progress=False)
    a = emergelab.sweep("critical_transition", "tiny", store=tmp_path / "a", executor="serial", **kw)
    b = emergelab.sweep("critical_transition", "tiny", store=str(tmp_path / "b"), executor="ray", **kw)
    assert a.run_ids == b.run_ids and len(b.done) == 4 and not b.failed
    assert b.sweep_id == a.sweep_id and b.store.sweep(b.sweep_id)["run_ids"] == b.run_ids
    assert len(b.runs()) == 4 and set(b.metrics()["run_id"]) == set(b.run_ids)
    _assert_same_runs(a.store, b.store, a.run_ids)


def test_no_shared_fs_driver_writes_identical_runs(ray_local, tmp_path, monkeypatch):
    specs = plan("toy", "quick", grid={"jump_at": ["30", "60"]}, seeds=2)
    driver_writes = []
    write = FinishedRun.write  # patched in this (driver) process only, not in the Ray workers

    def counting_write(self, *a, **k):
        driver_writes.append(self.run_id)
        return write(self, *a, **k)

    monkeypatch.setattr(FinishedRun, "write", counting_write)
    auto, sent = Store(tmp_path / "auto"), Store(tmp_path / "sent")
    assert len(run_specs(specs, auto, executor="ray", progress=False).done) == 4
    assert driver_writes == []  # the workers saw the store and wrote the runs themselves
    out = run_specs(specs, sent, executor="ray", shared_fs=False, progress=False)
    assert len(out.done) == 4 and not out.failed
    assert sorted(driver_writes) == sorted(s.run_id for s in specs)  # sent back, written here
    _assert_same_runs(auto, sent, [s.run_id for s in specs])


def test_one_failing_run_does_not_lose_the_others(ray_local, store):
    good = plan("toy", "quick", grid={"jump_at": ["30", "60"]})
    bad = replace(good[0], run_id="toy-broken", config={**good[0].config, "steps": 5})  # fails in the worker
    out = run_specs([good[0], bad, good[1]], store, executor="ray", chunk_size=3, progress=False)
    assert sorted(out.done) == sorted(s.run_id for s in good)
    assert list(out.failed) == ["toy-broken"] and "steps must be >= 10" in out.failed["toy-broken"]
    assert all(store.has(s.run_id) for s in good) and not store.has("toy-broken")


def test_cli_sweep_on_ray(ray_local, run_cli):
    rc, out, err = run_cli("sweep", "toy", "-p", "quick", "-g", "jump_at=30,60", "-x", "ray", "--chunk-size", "1")
    assert rc == 0, err
    assert out.count("toy-") >= 2 and "report: emergelab report sweep-toy-" in out


# the last tests on Ray kill workers, and restarting them takes seconds
def test_a_crashing_worker_loses_only_its_run(ray_local, store):
    # jump_at=30 kills its worker half-way (os._exit): the chunk is split, the others complete
    specs = plan("toy", "quick", {"crash": "exit", "crash_at": "30"}, grid={"jump_at": ["20", "30", "40"]})
    out = run_specs(specs, store, executor="ray", chunk_size=3, progress=False)
    bad = next(s.run_id for s in specs if s.labels["jump_at"] == 30)
    assert list(out.failed) == [bad] and "WorkerCrashedError" in out.failed[bad], out.failed
    assert sorted(out.done) == sorted(s.run_id for s in specs if s.run_id != bad)
    assert all(store.has(r) for r in out.done) and not store.has(bad)


def test_interrupt_cancels_the_tasks(ray_local, store):
    specs = plan("toy", "quick", {"sleep": "0.02"}, grid={"jump_at": [str(j) for j in range(20, 80, 10)]})

    def stop(rid, summ):
        raise KeyboardInterrupt  # what Ctrl-C does to the driver while it waits

    with pytest.raises(KeyboardInterrupt):
        run_specs(specs, store, executor="ray", chunk_size=1, progress=False, on_done=stop)
    time.sleep(2)  # a run takes ~1 s: tasks that were not cancelled would have landed by now
    done = [s.run_id for s in specs if store.has(s.run_id)]
    assert 1 <= len(done) <= 3 < len(specs)  # (resuming is tested above)
    assert not [p for p in store.tmp_dir.iterdir() if p.name.startswith("ray-probe")]


def test_workers_detect_whether_they_see_the_store(store):
    # _run_chunk is what a Ray task runs; called here directly, as a worker elsewhere would
    from emergelab.errors import UserError
    from emergelab.lab.ray_executor import _run_chunk

    (spec,) = plan("toy", "quick")
    root = str(store.root.resolve())
    elsewhere = str(store.root.resolve() / ".tmp" / "ray-probe.1.not-on-this-machine")
    [(rid, kind, run)] = _run_chunk([spec], root, elsewhere, None, False)  # auto: not seen, send back
    assert (rid, kind) == (spec.run_id, "run") and isinstance(run, FinishedRun) and not store.has(rid)
    with pytest.raises(UserError, match="not visible on Ray worker"):
        _run_chunk([spec], root, elsewhere, True, False)
    store.tmp_dir.mkdir(parents=True)
    probe = store.tmp_dir / "ray-probe.1.seen"
    probe.touch()
    [(rid, kind, summary)] = _run_chunk([spec], root, str(probe), None, False)  # seen: written here
    assert kind == "stored" and store.has(rid) and summary == run.summary | {"wall_s": summary["wall_s"]}


def test_missing_ray_says_how_to_install(run_cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    rc, out, err = run_cli("sweep", "toy", "-p", "quick", "-g", "jump_at=30,60", "-x", "ray")
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "pip install 'emergelab[ray]'" in err
    assert not (tmp_path / "store").exists()  # nothing written


@pytest.mark.parametrize("args, message", [
    (["--address", "auto"], "--address goes with the ray executor"),
    (["--ray-no-shared-fs", "-x", "serial"], "--ray-no-shared-fs goes with the ray executor"),
    (["--chunk-size", "2"], "--chunk-size goes with the ray executor"),
    (["-x", "ray", "--chunk-size", "0"], "--chunk-size must be at least 1"),
])  # fmt: skip
def test_ray_options_without_ray_executor(run_cli, tmp_path, args, message):
    rc, out, err = run_cli("run", "toy", "-p", "quick", *args)
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "store").exists()
