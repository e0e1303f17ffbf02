"""lab/recorder + lab/store: columnar buffering, atomic runs, the catalogue, exports."""

import json
import os
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from emergelab.errors import UserError
from emergelab.lab.recorder import Recorder
from emergelab.lab.store import Store, export_frame


def _rec(n=5):
    rec = Recorder(progress=False)
    for s in range(n):
        rec.log(s, **{"train/loss": 1.0 / (s + 1), "val/acc": s / n})
    rec.log(n, **{"extra/x": np.float32(2.5)})
    return rec


def _meta(run_id, world="toy", seed=0, **cfg):
    return {"run_id": run_id, "world": world, "seed": seed, "preset": None, "config_hash": run_id[-4:],
            "config": {"seed": seed, **cfg}, "created": f"2026-01-0{seed + 1}T00:00:00"}


def test_recorder_long_format():
    t = _rec().to_arrow("r1")
    df = t.to_pandas()
    assert list(t.column_names) == ["run_id", "step", "name", "value"]
    assert len(df) == 11 and set(df["name"].astype(str)) == {"train/loss", "val/acc", "extra/x"}
    assert (df["run_id"].astype(str) == "r1").all()
    steps, vals = _rec().series("train/loss")
    assert steps.tolist() == [0, 1, 2, 3, 4] and vals[1] == 0.5


def test_log_many_and_wide():
    rec = Recorder(progress=False)
    rec.log_many("a", [0, 1, 2], [1.0, 2.0, 3.0])
    rec.log(1, b=5.0)
    w = rec.wide()
    assert w.loc[2, "a"] == 3.0 and np.isnan(w.loc[0, "b"])
    with pytest.raises(ValueError, match="2 steps but 3 values"):
        rec.log_many("c", [0, 1], [1, 2, 3])


def test_log_arrays_round_trip_through_the_store(store):
    rec = Recorder(progress=False)
    rec.log(0, **{"m/x": 0.5, "m/y": 1.5})  # per-step rows and array blocks of the same names
    rec.log_arrays(np.arange(1, 4), **{"m/x": np.array([1.0, 2.0, 3.0]), "m/y": np.float32(7.0)})
    rec.log(4, **{"m/x": 4.0, "m/y": 8.0})
    rec.log_arrays(5, **{"m/x": 5.0, "m/y": np.array(9.0)})  # one step: scalars
    rec.log_arrays(np.array([0, 2]), **{"other": [10.0, 20.0]})
    assert rec.names == ["m/x", "m/y", "other"]
    assert rec.series("m/x")[0].tolist() == list(range(6)) and rec.series("m/x")[1].tolist() == [0.5, 1, 2, 3, 4, 5]
    assert rec.series("m/y")[1].tolist() == [1.5, 7, 7, 7, 8, 9]
    store.write_run("toy-arrs", _meta("toy-arrs"), rec, {})
    m = store.metrics(["toy-arrs"])
    assert len(m) == 14 and m[m["name"] == "other"]["value"].tolist() == [10.0, 20.0]
    assert m[m["name"] == "m/x"].sort_values("step")["value"].tolist() == [0.5, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="3 steps but 2 values"):
        rec.log_arrays([0, 1, 2], z=[1.0, 2.0])
    with pytest.raises(ValueError, match="1-D"):
        rec.log_arrays(np.zeros((2, 2)), z=1.0)


def test_log_many_keeps_logging_order_with_log():
    rec = Recorder(progress=False)
    rec.log(3, a=30.0)
    rec.log_many("a", [1, 2], [10.0, 20.0])  # one set of names: rows stay in the order logged
    rec.log(3, a=31.0)
    steps, vals = rec.series("a")
    assert steps.tolist() == [3, 1, 2, 3] and vals.tolist() == [30.0, 10.0, 20.0, 31.0]


def test_write_run_atomic_and_catalogue(store):
    store.write_run("toy-aaaa", _meta("toy-aaaa", seed=0, lr=0.1), _rec(), {"final": 1.0, "wall_s": 0.1})
    store.write_run("toy-bbbb", _meta("toy-bbbb", seed=1, lr=0.2), _rec(), {"final": 2.0, "wall_s": 0.1})
    assert store.has("toy-aaaa") and not list(store.tmp_dir.iterdir())
    runs = store.runs()
    assert list(runs["run_id"]) == ["toy-aaaa", "toy-bbbb"]
    assert list(runs["config.lr"]) == [0.1, 0.2] and list(runs["summary.final"]) == [1.0, 2.0]
    m = store.metrics(names=["val/acc"])
    assert len(m) == 10 and set(m["run_id"]) == {"toy-aaaa", "toy-bbbb"}
    assert store.curves("toy-aaaa").loc[4, "train/loss"] == pytest.approx(0.2)
    q = store.query("SELECT run_id, count(*) AS n FROM metrics GROUP BY run_id ORDER BY run_id")
    assert q["n"].tolist() == [11, 11]


def test_catalogue_rebuilt_when_missing_stale_or_corrupt(store):
    store.write_run("toy-aaaa", _meta("toy-aaaa"), _rec(), {"wall_s": 0.1})
    assert len(store.runs()) == 1
    store.catalog_path.write_bytes(b"not parquet")  # corrupt -> rebuilt silently
    assert len(Store(store.root).runs()) == 1
    os.remove(store.catalog_path)  # missing -> rebuilt
    store.write_run("toy-bbbb", _meta("toy-bbbb", seed=1), _rec(), {"wall_s": 0.1})
    assert len(Store(store.root).runs()) == 2
    import shutil

    shutil.rmtree(store.runs_dir / "toy-aaaa")  # stale -> the vanished run drops out
    assert list(Store(store.root).runs()["run_id"]) == ["toy-bbbb"]


def test_half_written_run_is_invisible(store):
    class Boom(Recorder):
        def to_arrow(self, run_id):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.write_run("toy-cccc", _meta("toy-cccc"), Boom(progress=False), {})
    assert not store.has("toy-cccc") and not (store.runs_dir / "toy-cccc").exists()
    assert store.runs().empty and not list(store.tmp_dir.iterdir())


def test_killed_staging_folder_is_cleaned(store):
    store.tmp_dir.mkdir(parents=True)
    (store.tmp_dir / "toy-dead.999999.abc").mkdir()  # a pid that does not exist
    (store.tmp_dir / f"toy-live.{os.getpid()}.abc").mkdir()
    assert store.clean_tmp() == 1
    assert [p.name for p in store.tmp_dir.iterdir()] == [f"toy-live.{os.getpid()}.abc"]


def test_staging_of_another_host_is_kept_until_stale(store):
    """A Ray worker on another machine writes into the shared .tmp/: its pid means nothing
    here, so only age may condemn its folder."""
    live = store.staging_path("toy-mine")
    live.mkdir(parents=True)
    assert live.name.split(".")[1].startswith(f"{os.getpid()}@")
    host = live.name.split(".")[1].split("@")[1]
    (store.tmp_dir / f"toy-dead.999999@{host}.abc").mkdir()  # this host, a pid that does not exist
    other = store.tmp_dir / "toy-remote.1@some-other-node.abc"
    other.mkdir()
    old = store.tmp_dir / "toy-remote-old.1@some-other-node.abd"
    old.mkdir()
    os.utime(old, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    (store.tmp_dir / "ray-probe.999999.ff").touch()  # a dead driver's probe file (old naming)
    store.clean_tmp()
    left = sorted(p.name for p in store.tmp_dir.iterdir())
    assert left == sorted([live.name, other.name])


def test_corrupt_run_folder_is_one_clear_error(store):
    store.write_run("toy-aaaa", _meta("toy-aaaa"), _rec(), {"wall_s": 0.1})
    (store.runs_dir / "toy-aaaa" / "config.json").write_text("{broken")
    with pytest.raises(UserError, match=r"corrupt run folder .*toy-aaaa.*delete it"):
        Store(store.root).runs()


def test_resolve_prefixes(store):
    store.write_run("toy-aaaa11", _meta("toy-aaaa11"), _rec(), {})
    store.write_run("toy-aabb22", _meta("toy-aabb22", seed=1), _rec(), {})
    assert store.resolve("toy-aaaa") == ("run", "toy-aaaa11")
    assert store.resolve("aabb") == ("run", "toy-aabb22")
    with pytest.raises(UserError, match="ambiguous"):
        store.resolve("toy-aa")
    with pytest.raises(UserError, match="no run or sweep 'zzz'"):
        store.resolve("zzz")


def test_store_path_that_is_a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(UserError, match="is a file, not a folder"):
        Store(f)


def test_artefacts_written(store):
    rec = _rec()
    rec.artefact("weights", np.eye(3))
    rec.artefact("info", {"a": 1})
    rec.artefact("table", pd.DataFrame({"x": [1, 2]}))
    store.write_run("toy-eeee", _meta("toy-eeee"), rec, {})
    assert np.array_equal(np.load(store.artefact_path("toy-eeee", "weights")), np.eye(3))
    assert json.loads(store.artefact_path("toy-eeee", "info").read_text()) == {"a": 1}
    assert pq.read_table(store.artefact_path("toy-eeee", "table")).num_rows == 2


@pytest.mark.parametrize("suffix", ["csv", "parquet", "json"])
def test_export_formats(tmp_path, suffix):
    df = pd.DataFrame({"run_id": ["a", "a"], "step": [0, 1], "name": ["x", "x"], "value": [0.5, 1.5]})
    p = export_frame(df, tmp_path / f"out.{suffix}")
    back = {"csv": pd.read_csv, "parquet": pd.read_parquet, "json": pd.read_json}[suffix](p)
    assert back["value"].tolist() == [0.5, 1.5]


def test_export_rejects_unknown_format(tmp_path):
    with pytest.raises(UserError, match="use a .csv, .parquet or .json"):
        export_frame(pd.DataFrame({"a": [1]}), tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def test_catalogue_of_no_runs_then_a_run(store):
    store.root.mkdir()
    assert store.runs().empty  # writes a catalogue of 0 runs (a reader before the sweep's first run)
    store.write_run("toy-aaaa", _meta("toy-aaaa"), _rec(), {"wall_s": 0.1})
    assert list(Store(store.root).runs()["run_id"]) == ["toy-aaaa"]
