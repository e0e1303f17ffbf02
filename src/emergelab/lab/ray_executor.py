"""The Ray executor: a sweep's runs as Ray core tasks, on this machine or on any Ray cluster.

Specs are sent in chunks (about four tasks per CPU, so each task lasts seconds and the
scheduling overhead stays small, while the last tasks still spread over every CPU); at
most two tasks per CPU are in flight (`ray.wait` backpressure), and results are collected
as they finish, driving the one progress bar. A failing run is recorded in Outcome.failed
and the others go on: errors are caught per run inside a task; a task whose worker dies
(a crashing extension, the OOM killer, a lost node) is split into one task per run, each
retried once by Ray, so only the culprit is lost.

Where the store lives:
- workers that see the store's file system (the local instance; a cluster on shared
  storage) write their run folders themselves, through the same atomic `write_run` as the
  other executors;
- workers that do not see it send each finished run (meta, Arrow metrics, summary,
  artefacts) back to the driver, which writes it.
By default each task finds out for itself: the driver drops a probe file with a random name
in the store's staging folder, and a worker that can read it writes directly.
`shared_fs=True` makes a worker that cannot see it fail instead; `shared_fs=False` always
sends runs back.

Workers import emergelab (and any $EMERGELAB_WORLDS module) themselves: a local instance
inherits this interpreter and its environment; the nodes of a remote cluster need
emergelab installed, or a Ray runtime_env (`ray job submit --runtime-env-json ...`, or
`ray.init(address, runtime_env=...)` before calling `emergelab.sweep`) that brings it.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from contextlib import contextmanager
from pathlib import Path

from emergelab.errors import UserError
from emergelab.lab.sweep import RunSpec, llm_cache_dir, run_spec

INSTALL_HINT = "pip install 'emergelab[ray]'"
TASKS_PER_CPU = 4  # chunks per CPU: enough to balance uneven runs, few enough to amortise overhead
INFLIGHT_PER_CPU = 2  # backpressure: tasks submitted but not yet collected, per CPU


def import_ray():
    try:
        import ray
    except ImportError:
        raise UserError(f"the ray executor needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def chunk_size_for(n_runs: int, cpus: int) -> int:
    """Specs per task so that there are about TASKS_PER_CPU tasks per CPU (at least one spec)."""
    return max(1, math.ceil(n_runs / (TASKS_PER_CPU * max(1, cpus))))


def _run_chunk(specs: list[RunSpec], root: str, probe: str | None, shared_fs: bool | None,
               replace: bool) -> list[tuple[str, str, object]]:  # fmt: skip
    """On a worker: run a chunk of specs; one failure does not lose the others.

    Returns (run_id, "stored", summary) for a run the worker wrote to the store itself,
    (run_id, "run", FinishedRun) for one the driver must write, (run_id, "failed", error)."""
    sees_store = probe is not None and os.path.isfile(probe)
    if shared_fs and not sees_store:
        raise UserError(f"the store {root} is not visible on Ray worker {socket.gethostname()}: "
                        "put it on storage every node mounts, or drop --ray-shared-fs")  # fmt: skip
    out: list[tuple[str, str, object]] = []
    for s in specs:
        try:
            run = run_spec(s, llm_cache_dir=llm_cache_dir(root) if sees_store else None)
            if sees_store:
                run.write(root, replace=replace)
                out.append((s.run_id, "stored", run.summary))
            else:
                out.append((s.run_id, "run", run))
        except Exception as e:  # noqa: BLE001  one bad run must not lose the others
            out.append((s.run_id, "failed", f"{type(e).__name__}: {e}{_env_hint(e)}"))
    return out


def _env_hint(e: BaseException, where: str | None = None) -> str:
    """Plans are validated on the driver, so an import error or a UserError (unknown world)
    in a run on a worker means the worker's environment lacks emergelab or a world module."""
    if isinstance(e, (ImportError, UserError)):
        return (f" ({where or 'on Ray worker ' + socket.gethostname()}: workers need emergelab and the "
                "$EMERGELAB_WORLDS modules importable; see the README, 'Sweeps on a Ray cluster')")  # fmt: skip
    return ""


_LOCAL = False  # a local instance started by ray_session is up


@contextmanager
def ray_session(address: str | None = None, jobs: int | None = None):
    """Connect to Ray for the duration of the block and yield whether it is a local instance
    of `jobs` CPUs started here. Inside another session, or after the caller's own
    `ray.init` (e.g. with a runtime_env), the connection is used as it is; otherwise the
    block connects to `address` ($RAY_ADDRESS when None) or starts a local instance, and
    disconnects (shutting the local instance down) at the end."""
    global _LOCAL
    ray = import_ray()
    if ray.is_initialized():
        yield _LOCAL
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    quiet = dict(log_to_driver=False, logging_level=logging.WARNING)
    _check_reachable(address)
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=jobs or os.cpu_count() or 1, include_dashboard=False, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at '{address}'" if address else "a local Ray instance"
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        hint = ("start one with `ray start --head` or drop --address to run a local instance" if address
                else "check `ray status`, or start a cluster and pass --address")  # fmt: skip
        raise UserError(f"cannot connect to {where} ({first}): {hint}") from None
    _LOCAL = not address
    try:
        yield _LOCAL
    finally:
        _LOCAL = False
        ray.shutdown()  # stops a local instance; only disconnects from a cluster


def _check_reachable(address: str | None) -> None:
    """Fail fast on a HOST:PORT nobody listens on (Ray itself keeps retrying for minutes)."""
    host, sep, port = (address or "").rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # "auto", "local", "ray://..." (Ray Client) or no address: Ray's own checks
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as e:
        raise UserError(f"cannot reach the Ray cluster at '{address}' ({e.strerror or e}): check the address "
                        "(`ray status` on the head node prints it) or drop --address") from None  # fmt: skip


def _error_line(e: BaseException) -> str:
    cause = getattr(e, "cause", None)  # RayTaskError wraps the worker's exception
    if isinstance(cause, BaseException):
        e = cause
    first = (str(e).strip().splitlines() or [""])[0]
    hint = _env_hint(e, "on a Ray worker") if isinstance(e, ImportError) else ""  # e.g. no emergelab there
    return (f"{type(e).__name__}: {first}" if first else type(e).__name__) + hint


def run_ray(todo: list[RunSpec], store, jobs: int | None, progress: bool, replace: bool, out, on_done,
            address: str | None = None, shared_fs: bool | None = None, chunk_size: int | None = None):  # fmt: skip
    """Run `todo` as Ray tasks, filling `out` (an Outcome); see the module docstring."""
    ray = import_ray()
    with ray_session(address, jobs) as local:
        return _run_tasks(ray, todo, store, jobs, local, progress, replace, out, on_done, shared_fs, chunk_size)


def _run_tasks(ray, todo, store, jobs, local, progress, replace, out, on_done, shared_fs, chunk_size):
    from ray.exceptions import RayTaskError

    from emergelab.lab.executors import _bar

    probe = None
    pending: dict = {}
    bar = None
    try:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        if jobs and not local:  # on a cluster, --jobs caps the runs at once
            cpus = min(cpus, jobs)
            inflight = cpus
        else:
            inflight = INFLIGHT_PER_CPU * cpus
        size = chunk_size or chunk_size_for(len(todo), cpus)
        chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
        root = str(Path(store.root).resolve())
        if shared_fs is not False:
            store.tmp_dir.mkdir(parents=True, exist_ok=True)
            # a staging name (<tag>.<pid>@<host>.<random>): clean_tmp keeps it while this driver lives
            probe = store.staging_path("ray-probe").resolve()
            probe.touch()
        task = ray.remote(num_cpus=1)(_run_chunk)
        bar = _bar(progress, len(todo), f"{len(todo)} runs on Ray ({cpus} CPUs, {len(chunks)} tasks)")
        queue = list(reversed(chunks))
        while queue or pending:
            while queue and len(pending) < inflight:
                chunk = queue.pop()
                # a lone run gets a second try when its worker or node dies; a chunk is split instead
                opts = task.options(max_retries=1 if len(chunk) == 1 else 0)
                pending[opts.remote(chunk, root, probe and str(probe), shared_fs, replace)] = chunk
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                chunk = pending.pop(ref)
                try:
                    results = ray.get(ref)
                except RayTaskError as e:  # _run_chunk itself raised: store not visible
                    results = [(s.run_id, "failed", _error_line(e)) for s in chunk]
                except Exception as e:  # the worker or its node died (a crashing run, OOM, a lost node)
                    if len(chunk) > 1:  # one task per run: the culprit fails alone, the others complete
                        queue.extend([s] for s in reversed(chunk))
                        continue
                    results = [(s.run_id, "failed", _error_line(e)) for s in chunk]
                for run_id, kind, payload in results:
                    if kind == "run":
                        try:
                            payload.write(store.root, replace=replace)
                            kind, payload = "stored", payload.summary
                        except Exception as e:  # noqa: BLE001
                            kind, payload = "failed", f"{type(e).__name__}: {e}"
                    if kind == "failed":
                        out.failed[run_id] = payload
                    else:
                        out.done[run_id] = payload
                        if on_done:
                            on_done(run_id, payload)
                if bar:
                    bar.advance(0, len(chunk))
    except KeyboardInterrupt:
        for ref in pending:  # kill the running tasks; their staging folders stay invisible
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001  already finished or gone
                pass
        raise
    finally:
        if bar:
            bar.stop()
        if probe is not None:
            probe.unlink(missing_ok=True)
    return out
