"""The store: one folder per run, DuckDB over the files.

    <store>/runs/<run_id>/config.json      world, config, hash, provenance
    <store>/runs/<run_id>/metrics.parquet  long format: run_id, step, name, value
    <store>/runs/<run_id>/summary.json     final scalars, detected transitions, wall time
    <store>/runs/<run_id>/artefacts/       arrays (.npy), dicts (.json), frames (.parquet)
    <store>/sweeps/<sweep_id>.json         the plan of a sweep and its run ids
    <store>/catalog.parquet                one row per run, derived from the files

A run is written into `<store>/.tmp/` and renamed into `runs/` only when complete, so a
crash or Ctrl-C never leaves a half run that looks whole. The catalogue is derived data:
it is rebuilt (incrementally) whenever the set of run folders differs from it, and from
scratch when it is missing or unreadable. It is a Parquet file rather than a DuckDB
database file on purpose: DuckDB allows one writer process per database file, and a store
is read by notebooks while sweeps write to it; an atomically replaced Parquet file queried
by an in-memory DuckDB has no lock to fight over.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

from emergelab.errors import UserError

DEFAULT_STORE = "emergelab-runs"
TRANSCRIPT = "llm_transcript"  # the artefact an LLM world's client writes (emergelab.llm.client)
_METRICS_PARQUET = {"compression": "zstd", "use_dictionary": ["run_id", "name"]}  # values: none (2x slower)
_CATALOG_COLS = ["run_id", "world", "preset", "seed", "config_hash", "created", "wall_s", "mtime_ns", "config", "summary"]


def store_path(path: str | os.PathLike | None = None) -> Path:
    """--store, else $EMERGELAB_STORE, else ./emergelab-runs."""
    return Path(path or os.environ.get("EMERGELAB_STORE") or DEFAULT_STORE)


def open_store(path: str | os.PathLike | None = None, create: bool = True) -> "Store":
    return Store(store_path(path), create=create)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


def atomic_write(path: Path, write) -> None:
    """Call write(tmp_path), then rename over `path`: readers never see half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class Store:
    def __init__(self, root: Path, create: bool = True) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise UserError(f"store path {self.root} is a file, not a folder: pass --store DIR")
        if not self.root.exists():
            if not create:
                raise UserError(f"no store at {self.root}: run something first or pass --store DIR")
        self.runs_dir = self.root / "runs"
        self.sweeps_dir = self.root / "sweeps"
        self.tmp_dir = self.root / ".tmp"
        self.catalog_path = self.root / "catalog.parquet"
        self._catalog = None  # pandas frame, cached per Store object after refresh

    def _ensure(self) -> None:
        """Create the store's folders, or say in one line why it cannot be written."""
        try:
            for d in (self.runs_dir, self.sweeps_dir, self.tmp_dir):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot write to store {self.root} ({e.strerror or e}): "
                            "choose a writable folder with --store") from None  # fmt: skip
        for d in (self.runs_dir, self.sweeps_dir, self.tmp_dir):
            if not os.access(d, os.W_OK | os.X_OK):
                raise UserError(f"store {self.root} is not writable ({d.name}/): "
                                "fix its permissions or choose another folder with --store")  # fmt: skip

    # -- writing -------------------------------------------------------------------------
    def has(self, run_id: str) -> bool:
        return (self.runs_dir / run_id / "summary.json").is_file()

    def write_run(self, run_id: str, meta: dict, recorder, summary: dict, replace: bool = False) -> Path:
        """Write a complete run atomically; returns its folder."""
        import pyarrow.parquet as pq

        self._ensure()
        final = self.runs_dir / run_id
        tmp = self.staging_path(run_id)
        tmp.mkdir(parents=True)
        try:
            _write_json(tmp / "config.json", meta)
            pq.write_table(recorder.to_arrow(run_id), tmp / "metrics.parquet", **_METRICS_PARQUET)
            if recorder.artefacts:
                _write_artefacts(tmp / "artefacts", recorder.artefacts)
            _write_json(tmp / "summary.json", summary)  # last: its presence marks completion
            if final.exists():
                if not replace:
                    shutil.rmtree(tmp)  # a concurrent worker finished the same run first
                    return final
                trash = self.tmp_dir / f"{run_id}.old.{uuid.uuid4().hex[:6]}"
                os.rename(final, trash)
                os.rename(tmp, final)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def update_run(self, run_id: str, summary: dict, artefacts: dict | None = None) -> None:
        """Replace a complete run's summary (and add/replace artefacts), each file atomically:
        re-analysis never leaves a run half old, half new on disk."""
        d = self.runs_dir / run_id
        if not (d / "summary.json").is_file():
            raise UserError(f"no run '{run_id}' in store {self.root}: see `emergelab runs`")
        if artefacts:
            tmp = self.staging_path(run_id)
            tmp.mkdir(parents=True)
            try:
                _write_artefacts(tmp / "a", artefacts)
                (d / "artefacts").mkdir(exist_ok=True)
                for f in (tmp / "a").iterdir():
                    for old in (d / "artefacts").glob(f"{f.stem}.*"):
                        old.unlink()
                    os.replace(f, d / "artefacts" / f.name)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        atomic_write(d / "summary.json", lambda p: _write_json(p, summary))

    def write_sweep(self, sweep_id: str, spec: dict) -> None:
        self._ensure()
        atomic_write(self.sweeps_dir / f"{sweep_id}.json", lambda p: _write_json(p, spec))

    def staging_path(self, tag: str) -> Path:
        """A fresh name in .tmp/ that says who owns it: `<tag>.<pid>@<host>.<random>`."""
        return self.tmp_dir / f"{tag}.{os.getpid()}@{_HOST}.{uuid.uuid4().hex[:6]}"

    def clean_tmp(self) -> int:
        """Remove staging folders of processes that are gone (killed mid-run). A folder of
        another host (a Ray worker on a shared file system) cannot be checked from here: it
        is removed only once it is a day old, never while that worker may still write it."""
        if not self.tmp_dir.is_dir():
            return 0
        removed = 0
        for d in self.tmp_dir.iterdir():
            parts = d.name.split(".")
            owner = parts[1] if len(parts) > 2 else ""
            pid, _, host = owner.partition("@")
            if host and host != _HOST:
                try:
                    if time.time() - d.stat().st_mtime < _FOREIGN_STALE_S:
                        continue
                except OSError:
                    continue
            elif pid.isdigit() and _alive(int(pid)):
                continue
            if d.is_dir():
                shutil.rmtree(d, ignore_errors=True)
            else:  # a dead Ray driver's probe file
                d.unlink(missing_ok=True)
            removed += 1
        return removed

    # -- the catalogue -------------------------------------------------------------------
    def refresh(self, force: bool = False):
        """Bring the catalogue in line with the run folders; return it (pandas)."""
        import pandas as pd

        on_disk: dict[str, int] = {}
        if self.runs_dir.is_dir():
            for e in os.scandir(self.runs_dir):
                if e.is_dir() and not e.name.startswith("."):
                    on_disk[e.name] = e.stat().st_mtime_ns
        old = None
        if not force and self.catalog_path.is_file():
            try:
                old = pd.read_parquet(self.catalog_path)
                if list(old.columns) != _CATALOG_COLS:
                    old = None
            except Exception:  # unreadable catalogue: it is derived data, rebuild it
                old = None
        if old is not None:
            known = dict(zip(old["run_id"], old["mtime_ns"]))
            if known == on_disk:
                self._catalog = old
                return old
            # .loc: a plain [] with an empty list would select no *columns* (catalogue of 0 runs)
            keep = old.loc[[known.get(r) == on_disk.get(r) for r in old["run_id"]]]
        else:
            keep = pd.DataFrame(columns=_CATALOG_COLS)
        have = set(keep["run_id"])
        rows = [self._catalog_row(r, m) for r, m in sorted(on_disk.items()) if r not in have]
        rows = [r for r in rows if r is not None]
        new = pd.DataFrame(rows, columns=_CATALOG_COLS)
        parts = [f for f in (keep, new) if len(f)]
        cat = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_CATALOG_COLS)
        cat = cat.sort_values("created", kind="stable").reset_index(drop=True)
        if self.root.is_dir():
            try:
                atomic_write(self.catalog_path, lambda p: cat.to_parquet(p, index=False))
            except OSError:
                pass  # read-only store: the in-memory catalogue still answers
        self._catalog = cat
        return cat

    def _catalog_row(self, run_id: str, mtime_ns: int) -> list | None:
        d = self.runs_dir / run_id
        if not (d / "summary.json").is_file():
            return None  # not a complete run (should not happen: runs are renamed in whole)
        try:
            meta = json.loads((d / "config.json").read_text())
            summary = json.loads((d / "summary.json").read_text())
            return [
                run_id, meta["world"], meta.get("preset"), meta.get("seed"), meta.get("config_hash"),
                meta.get("created"), summary.get("wall_s"), mtime_ns,
                json.dumps(meta.get("config", {})), json.dumps(summary),
            ]  # fmt: skip
        except (OSError, ValueError, KeyError) as e:
            raise UserError(
                f"corrupt run folder {d} ({type(e).__name__}: {e}); move it out of the store or delete it"
            ) from None

    # -- reading -------------------------------------------------------------------------
    def runs(self, world: str | None = None, sweep: str | None = None, run_ids: Iterable[str] | None = None):
        """One row per run: run_id, world, preset, seed, created, wall_s, then every config
        field as `config.<key>` and every scalar summary value as `summary.<key>`."""
        import pandas as pd

        cat = self.refresh()
        if world:
            cat = cat[cat["world"] == world]
        if sweep:
            ids = set(self.sweep(sweep)["run_ids"])
            cat = cat[cat["run_id"].isin(ids)]
        if run_ids is not None:
            cat = cat[cat["run_id"].isin(set(run_ids))]
        base = cat[["run_id", "world", "preset", "seed", "config_hash", "created", "wall_s"]].reset_index(drop=True)
        cfg = pd.json_normalize([json.loads(c) for c in cat["config"]]).add_prefix("config.")
        summ = [{k: v for k, v in json.loads(s).items() if not isinstance(v, (dict, list))} for s in cat["summary"]]
        summ = pd.DataFrame(summ).add_prefix("summary.")
        for f in (cfg, summ):
            f.index = base.index
        return pd.concat([base, cfg, summ], axis=1)

    def resolve(self, ref: str) -> tuple[str, str]:
        """('run', run_id) or ('sweep', sweep_id) for an id or a unique prefix of one."""
        if (self.runs_dir / ref).is_dir():
            return "run", ref
        if (self.sweeps_dir / f"{ref}.json").is_file():
            return "sweep", ref
        runs = [p.name for p in self.runs_dir.iterdir()] if self.runs_dir.is_dir() else []
        sweeps = [p.stem for p in self.sweeps_dir.glob("*.json")] if self.sweeps_dir.is_dir() else []
        hits = [("run", r) for r in runs if r.startswith(ref) or r.split("-")[-1].startswith(ref)]
        hits += [("sweep", s) for s in sweeps if s.startswith(ref)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise UserError(f"no run or sweep '{ref}' in store {self.root}: see `emergelab runs`")
        names = ", ".join(h[1] for h in hits[:5])
        raise UserError(f"'{ref}' is ambiguous ({names}...): give more of the id")

    def run_meta(self, run_id: str) -> dict:
        """config.json merged with {'summary': summary.json} of one run."""
        d = self.runs_dir / run_id
        try:
            meta = json.loads((d / "config.json").read_text())
            meta["summary"] = json.loads((d / "summary.json").read_text())
        except FileNotFoundError as e:
            if d.is_dir():  # a folder someone left or emptied by hand: runs are renamed in whole
                raise UserError(f"incomplete run folder {d} (no {Path(e.filename).name}); move it out of the "
                                "store or delete it") from None  # fmt: skip
            raise UserError(f"no run '{run_id}' in store {self.root}: see `emergelab runs`") from None
        except ValueError as e:
            raise UserError(f"corrupt run folder {d} ({e}); move it out of the store or delete it") from None
        return meta

    def sweep(self, sweep_id: str) -> dict:
        p = self.sweeps_dir / f"{sweep_id}.json"
        try:
            return json.loads(p.read_text())
        except FileNotFoundError:
            raise UserError(f"no sweep '{sweep_id}' in store {self.root}: see `emergelab runs --sweeps`") from None
        except ValueError as e:
            raise UserError(f"corrupt sweep file {p} ({e}); delete it and re-run the sweep") from None

    def sweeps(self):
        import pandas as pd

        rows = []
        if self.sweeps_dir.is_dir():
            for p in sorted(self.sweeps_dir.glob("*.json")):
                s = self.sweep(p.stem)
                done = sum(self.has(r) for r in s["run_ids"])
                rows.append({"sweep_id": p.stem, "world": s["world"], "grid": json.dumps(s.get("grid", {})),
                             "seeds": s.get("seeds"), "runs": len(s["run_ids"]), "complete": done,
                             "created": s.get("created")})  # fmt: skip
        return pd.DataFrame(rows, columns=["sweep_id", "world", "grid", "seeds", "runs", "complete", "created"])

    def _metric_files(self, run_ids: Iterable[str]) -> list[str]:
        files = []
        for r in run_ids:
            f = self.runs_dir / r / "metrics.parquet"
            if not f.is_file():
                raise UserError(f"no metrics for run '{r}' in store {self.root}: see `emergelab runs`")
            files.append(str(f))
        return files

    def metrics(self, run_ids: Iterable[str] | None = None, names: Iterable[str] | None = None,
                world: str | None = None):  # fmt: skip
        """Long frame (run_id, step, name, value), read by DuckDB across run folders."""
        import duckdb
        import pandas as pd

        if run_ids is None:
            run_ids = list(self.runs(world=world)["run_id"])
        run_ids = list(run_ids)
        if not run_ids:
            return pd.DataFrame({"run_id": [], "step": [], "name": [], "value": []})
        files = self._metric_files(run_ids)
        con = duckdb.connect()
        sql = "SELECT run_id::VARCHAR AS run_id, step, name::VARCHAR AS name, value FROM read_parquet($files, union_by_name=true)"
        params: dict[str, Any] = {"files": files}
        if names is not None:
            sql += " WHERE name IN (SELECT unnest($names))"
            params["names"] = list(names)
        try:
            return con.execute(sql + " ORDER BY run_id, name, step", params).df()
        except duckdb.Error as e:
            raise UserError(f"cannot read metrics ({str(e).splitlines()[0]}); a run folder may be corrupt") from None
        finally:
            con.close()

    def curves(self, run_id: str):
        """Wide frame for one run: index = step, one column per metric name."""
        m = self.metrics([run_id])
        return m.pivot_table(index="step", columns="name", values="value", aggfunc="last").sort_index()

    def transcript(self, run_id: str):
        """An LLM world's transcript: one row per request (agent, tag, step, prompt, reply,
        parsed, tokens, cached, ...), as written by `emergelab.llm`."""
        import pandas as pd

        f = self.runs_dir / run_id / "artefacts" / f"{TRANSCRIPT}.parquet"
        if not f.is_file():
            if not self.has(run_id):
                raise UserError(f"no run '{run_id}' in store {self.root}: see `emergelab runs`")
            raise UserError(f"run '{run_id}' has no LLM transcript: only runs that call a language model have one")
        return pd.read_parquet(f)

    def query(self, sql: str):
        """Run SQL with three views: `runs` (the catalogue; config/summary as JSON text),
        `metrics` (every run's long metrics) and `transcripts` (every LLM request of every
        run: run_id, agent, tag, step, prompt, reply, parsed, tokens, cached...). Returns a
        pandas frame."""
        import duckdb

        cat = self.refresh()
        con = duckdb.connect()
        try:
            con.register("catalog_df", cat.drop(columns=["mtime_ns"]))
            con.execute("CREATE VIEW runs AS SELECT * FROM catalog_df")
            files = self._metric_files(cat["run_id"]) if len(cat) else []
            if files:
                lst = _sql_list(files)
                con.execute("CREATE VIEW metrics AS SELECT run_id::VARCHAR AS run_id, step, name::VARCHAR AS name,"
                            f" value FROM read_parquet({lst}, union_by_name=true)")  # fmt: skip
            else:
                con.execute("CREATE VIEW metrics AS SELECT ''::VARCHAR AS run_id, 0::BIGINT AS step,"
                            " ''::VARCHAR AS name, 0.0::DOUBLE AS value WHERE false")  # fmt: skip
            tfiles = [str(f) for r in cat["run_id"] if (f := self.runs_dir / r / "artefacts" /
                                                         f"{TRANSCRIPT}.parquet").is_file()]  # fmt: skip
            if tfiles:
                con.execute("CREATE VIEW transcripts AS SELECT regexp_extract(filename, '([^/\\\\]+)[/\\\\]artefacts"
                            "[/\\\\][^/\\\\]+$', 1) AS run_id, * EXCLUDE (filename) FROM "
                            f"read_parquet({_sql_list(tfiles)}, union_by_name=true, filename=true)")  # fmt: skip
            else:
                con.execute("CREATE VIEW transcripts AS SELECT ''::VARCHAR AS run_id, 0::BIGINT AS step, "
                            "''::VARCHAR AS agent, ''::VARCHAR AS tag, ''::VARCHAR AS prompt, "
                            "''::VARCHAR AS reply WHERE false")  # fmt: skip
            res = con.execute(sql)
            if res is None:  # nothing but blanks, semicolons or comments
                raise UserError("query is empty: give an SQL statement, e.g. \"SELECT count(*) FROM runs\"")
            return res.df()
        except duckdb.Error as e:
            raise UserError(f"query failed: {str(e).splitlines()[0]}") from None
        finally:
            con.close()

    def artefact_path(self, run_id: str, name: str) -> Path:
        d = self.runs_dir / run_id / "artefacts"
        hits = sorted(d.glob(f"{name}.*")) if d.is_dir() else []
        if not hits:
            raise UserError(f"run '{run_id}' has no artefact '{name}'")
        return hits[0]


EXPORT_FORMATS = ("csv", "parquet", "json")


def check_export_path(dest: str | os.PathLike) -> str:
    """The export format of `dest` (by its suffix), or a UserError: check before the work."""
    dest = Path(dest)
    fmt = dest.suffix.lower().lstrip(".")
    if dest.is_dir():
        raise UserError(f"{dest} is a folder: give a file name, e.g. -o {dest / 'out.csv'}")
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"cannot export to '{dest.name}': use a .csv, .parquet or .json file name")
    if not dest.parent.exists():
        raise UserError(f"folder {dest.parent} does not exist: create it or choose another -o path")
    return fmt


def export_frame(frame, dest: str | os.PathLike) -> Path:
    """Write a frame as .csv, .parquet or .json (records) by the file suffix, atomically."""
    dest = Path(dest)
    fmt = check_export_path(dest)
    writers = {
        "csv": lambda p: frame.to_csv(p, index=False),
        "parquet": lambda p: frame.to_parquet(p, index=False),
        "json": lambda p: frame.to_json(p, orient="records", indent=1),
    }
    atomic_write(dest, writers[fmt])
    return dest


def _sql_list(files: list[str]) -> str:
    """A DuckDB list literal of file paths: views cannot take prepared parameters, so the
    list is inlined, quotes escaped."""
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def provenance() -> dict:
    from emergelab import __version__

    return {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(),
            "emergelab_version": __version__}  # fmt: skip


def _write_artefacts(folder: Path, artefacts: dict) -> None:
    import numpy as np

    folder.mkdir()
    for name, obj in artefacts.items():
        if isinstance(obj, np.ndarray):
            np.save(folder / f"{name}.npy", obj)
        elif isinstance(obj, (dict, list)):
            _write_json(folder / f"{name}.json", obj)
        elif isinstance(obj, str):
            (folder / f"{name}.txt").write_text(obj)
        elif isinstance(obj, bytes):
            (folder / f"{name}.bin").write_bytes(obj)
        elif hasattr(obj, "to_parquet"):
            obj.to_parquet(folder / f"{name}.parquet")
        else:
            raise TypeError(f"artefact '{name}': cannot store a {type(obj).__name__}")


# this machine, as a staging name can carry it (no dots: they separate the name's fields)
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "localhost"
_FOREIGN_STALE_S = 24 * 3600


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
