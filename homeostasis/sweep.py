"""Parallel, resumable sweeps: one file pair per finished run, process pool or Dask.

A sweep is a list of :class:`Task` objects, each a name and the JSON-able
keyword arguments of a module-level function ``fn(**kwargs) -> (metrics,
arrays)`` (``metrics`` a JSON-able dict, ``arrays`` a dict of numpy arrays).
Every run is a pure function of its arguments (all seeds are among them), so
the same task gives the same result on any worker, in any order, in a process
pool or on a Dask cluster.

Files, in ``DIR/runs/``: ``<name>.npz`` (arrays) then ``<name>.json``
(``{"task": {...}, "metrics": {...}}``), each written to a temporary file and
renamed, the JSON last: a run counts as finished exactly when its JSON
exists.  :func:`run_sweep` skips finished runs (resume); a finished run whose
stored task differs from the requested one raises ``ValueError`` instead of
mixing two sweeps in one folder.

Schedulers: ``None``/``"processes"`` (default) a ``ProcessPoolExecutor`` with
``workers`` processes (2 = both cores); ``"serial"`` in this process;
``"local"`` a Dask ``LocalCluster`` with ``workers`` single-threaded worker
processes; any other string is the address of a running Dask scheduler
(``tcp://host:8786``).  ``dask.distributed`` is imported only for the Dask
schedulers (optional dependency ``eibalance[dask]``).
"""
from __future__ import annotations

import importlib
import json
import os
import re
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import multiprocessing as mp
import numpy as np

from circuits.jsonio import write_json, write_npz

from circuits.procs import die_with_parent

_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class Task:
    """One run of a sweep: a file-safe ``name`` and the keyword arguments of the run function."""

    name: str
    kwargs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"task name {self.name!r} must match {_NAME_RE.pattern}")
        try:
            json.dumps(self.kwargs, sort_keys=True)
        except TypeError as err:
            raise ValueError(f"task {self.name!r}: kwargs are not JSON-serialisable ({err})") from None

    def spec(self) -> dict:
        return {"name": self.name, "kwargs": json.loads(json.dumps(self.kwargs, sort_keys=True))}


def _fn_path(fn) -> str:
    mod, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not mod or "." in name or "<" in name:
        raise ValueError(f"run function {fn!r} must be a module-level function (picklable by name)")
    return f"{mod}:{name}"


def _resolve(path: str):
    mod, name = path.split(":")
    return getattr(importlib.import_module(mod), name)


def _call(fn_path: str, kwargs: dict, threads: int | None = None):
    """Worker entry point: import the function by name and run it.

    ``threads`` caps numba's parallel threads in this worker, so that
    ``workers`` processes do not oversubscribe the cores.
    """
    fn = _resolve(fn_path)
    if threads is not None:
        import numba  # unconditionally: a fresh (spawned) worker has not imported it yet
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    metrics, arrays = fn(**kwargs)
    return metrics, {k: np.asarray(v) for k, v in (arrays or {}).items()}


def save_run(run_dir: Path, task: Task, metrics: dict, arrays: dict, fn_path: str | None = None) -> None:
    """Write one finished run: the NPZ, then the JSON that marks it finished (with the run function's name)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_npz(run_dir / f"{task.name}.npz", **arrays)
    doc = {"task": task.spec(), "metrics": metrics}
    if fn_path is not None:
        doc["fn"] = fn_path
    write_json(run_dir / f"{task.name}.json", doc, indent=1)


def load_run(run_dir: Path, name: str) -> tuple[dict, dict] | None:
    """(metrics, arrays) of a finished run, or None if it has not finished."""
    js = Path(run_dir) / f"{name}.json"
    if not js.exists():
        return None
    with open(js) as fh:
        doc = json.load(fh)
    with np.load(Path(run_dir) / f"{name}.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return doc["metrics"], arrays


def _finished(run_dir: Path, task: Task, fn_path: str | None = None) -> bool:
    """Whether ``task`` has finished in ``run_dir``; a stored run of another task or function is an error."""
    js = run_dir / f"{task.name}.json"
    if not js.exists():
        return False
    with open(js) as fh:
        doc = json.load(fh)
    stored = doc["task"]
    if stored != task.spec():
        raise ValueError(f"{js} holds a different run ({stored}) than the requested {task.spec()}; "
                         "use another --out folder")
    if fn_path is not None and doc.get("fn", fn_path) != fn_path:
        raise ValueError(f"{js} was made by {doc['fn']}, not by the requested {fn_path}; use another --out folder")
    return True


def _progress(total: int, initial: int, quiet: bool, desc: str):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, disable=quiet, desc=desc, file=sys.stderr, unit="run")


def run_sweep(fn, tasks: list[Task], out_dir, *, workers: int = 2, scheduler: str | None = None,
              quiet: bool = False, desc: str = "sweep", run_progress: bool = False) -> dict[str, tuple[dict, dict]]:
    """Run every unfinished task of ``tasks`` and return all results by name.

    Parameters
    ----------
    fn : module-level function ``fn(**kwargs) -> (metrics dict, arrays dict)``
    tasks : list of Task (unique names)
    out_dir : path; runs are stored in ``out_dir/runs/``
    workers : int >= 1, processes of the pool or of the Dask LocalCluster
    scheduler : None | 'processes' | 'serial' | 'local' | Dask scheduler address
    quiet : no progress bar
    run_progress : runs made in this process get ``progress=True`` (``fn`` must accept it), e.g. a
        training's per-iteration bar; it is not part of a run's identity
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r} must be an integer >= 1")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ValueError("task names must be unique")
    fn_path = _fn_path(fn)
    run_dir = Path(out_dir) / "runs"
    run_dir.mkdir(parents=True, exist_ok=True)
    todo = [t for t in tasks if not _finished(run_dir, t, fn_path)]
    bar = _progress(len(tasks), len(tasks) - len(todo), quiet, desc)
    try:
        if todo:
            if scheduler == "serial" or (scheduler in (None, "processes") and (workers == 1 or len(todo) == 1)):
                for t in todo:
                    if _finished(run_dir, t, fn_path):  # finished meanwhile by another sweep on this folder
                        bar.update(1)
                        continue
                    kwargs = {**t.kwargs, "progress": True} if run_progress else t.kwargs
                    try:
                        metrics, arrays = _call(fn_path, kwargs)
                    except Exception as err:  # noqa: BLE001 - the same report as the pool's
                        _raise_failures([(t.name, err)])
                    save_run(run_dir, t, metrics, arrays, fn_path)
                    bar.update(1)
            elif scheduler in (None, "processes"):
                _run_pool(fn_path, todo, run_dir, workers, bar)
            else:
                _run_dask(fn_path, todo, run_dir, scheduler, workers, bar)
    finally:
        bar.close()
    out = {}
    for t in tasks:
        out[t.name] = load_run(run_dir, t.name)
    return out


class SweepRunError(RuntimeError):
    """A run of a sweep failed; the runs that finished are saved (a rerun resumes from them)."""


def _raise_failures(failures: list) -> None:
    if failures:
        name, err = failures[0]
        more = f" (and {len(failures) - 1} more: {', '.join(n for n, _ in failures[1:])})" if len(failures) > 1 else ""
        raise SweepRunError(f"run {name!r} failed: {type(err).__name__}: {err}{more}; the finished runs are "
                            "saved, rerunning the same command resumes") from err


def _run_pool(fn_path: str, todo: list[Task], run_dir: Path, workers: int, bar) -> None:
    """Process pool over ``workers`` cores; at most ``workers`` runs in flight, each task
    re-checked just before it is submitted so that sweeps sharing a folder do not
    repeat each other's runs.  After a failure no new run starts; the runs in
    flight finish and are saved, then the failure is raised."""
    n = min(workers, len(todo))
    threads = max(1, (os.cpu_count() or 1) // n)
    queue = list(todo)
    with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"), initializer=die_with_parent) as ex:
        running, failures = {}, []
        while queue or running:
            while queue and len(running) < n and not failures:
                t = queue.pop(0)
                if _finished(run_dir, t, fn_path):
                    bar.update(1)
                    continue
                running[ex.submit(_call, fn_path, t.kwargs, threads)] = t
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                t = running.pop(fut)
                try:
                    metrics, arrays = fut.result()
                except Exception as err:  # noqa: BLE001 - reported after the runs in flight are saved
                    failures.append((t.name, err))
                    continue
                save_run(run_dir, t, metrics, arrays, fn_path)
                bar.update(1)
    _raise_failures(failures)


def _run_dask(fn_path: str, todo: list[Task], run_dir: Path, scheduler: str, workers: int, bar) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed as d_completed
    except ImportError as err:  # optional dependency
        raise ImportError("--scheduler needs dask.distributed: pip install 'eibalance[dask]'") from err
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures, by_key = [], {}
        for t in todo:
            f = client.submit(_call, fn_path, t.kwargs, 1, pure=False)
            futures.append(f)
            by_key[f.key] = t
        failures = []
        for f in d_completed(futures):
            try:
                metrics, arrays = f.result()
            except Exception as err:  # noqa: BLE001 - the other runs still finish and are saved
                failures.append((by_key[f.key].name, err))
                continue
            save_run(run_dir, by_key[f.key], metrics, arrays, fn_path)
            bar.update(1)
        _raise_failures(failures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
