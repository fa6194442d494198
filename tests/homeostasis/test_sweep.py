"""Sweep machinery: per-run files, resume after interruption, process pool and Dask give identical results."""
import json
import os

import numpy as np
import pytest

from homeostasis.network import NetworkConfig, build_network
from homeostasis.sweep import SweepRunError, Task, load_run, run_sweep
from homeostasis.trainer import TrainConfig, train
from tests.homeostasis.test_trainer import FakeChip


def fake_train(seed: int, n_iterations: int = 8):
    """A seeded training on the stand-in chip (module level: picklable by name for workers)."""
    net = build_network(NetworkConfig(n_exc=30, n_inh=8, p=0.1), seed=seed)
    res = train(FakeChip(), net, TrainConfig(n_iterations=n_iterations, n_reps=2, final_window=2), seed=seed)
    fr = res.final_rates()[0]
    return {"seed": seed, "final": fr.tolist(), "pid": os.getpid()}, {"rates": res.rates_hz, "codes": res.codes}


def failing(seed: int):
    raise RuntimeError(f"interrupted at seed {seed}")


def slow_or_failing(seed: int):
    """Seed 0 fails at once; the others finish later (module level: picklable by name for workers)."""
    import time
    if seed == 0:
        raise RuntimeError("bad seed 0")
    time.sleep(1.0)
    return fake_train(seed, n_iterations=2)


TASKS = [Task(f"run{s}", {"seed": s}) for s in range(4)]


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        ma, aa = a[k]
        mb, ab = b[k]
        assert ma["final"] == mb["final"]
        for key in aa:
            np.testing.assert_array_equal(aa[key], ab[key])


def test_pool_matches_serial_and_files_written(tmp_path):
    serial = run_sweep(fake_train, TASKS, tmp_path / "serial", scheduler="serial", quiet=True)
    pool = run_sweep(fake_train, TASKS, tmp_path / "pool", workers=2, quiet=True)
    _same(serial, pool)
    for t in TASKS:
        assert (tmp_path / "pool" / "runs" / f"{t.name}.json").exists()
        assert (tmp_path / "pool" / "runs" / f"{t.name}.npz").exists()
        doc = json.loads((tmp_path / "pool" / "runs" / f"{t.name}.json").read_text())
        assert doc["task"] == t.spec()
    # the pool really used worker processes
    assert {m["pid"] for m, _ in pool.values()} != {os.getpid()}


def test_resume_after_interruption_equals_uninterrupted(tmp_path):
    full = run_sweep(fake_train, TASKS, tmp_path / "a", scheduler="serial", quiet=True)
    out = tmp_path / "b"
    # first attempt: two runs finish, then the sweep is interrupted
    run_sweep(fake_train, TASKS[:2], out, scheduler="serial", quiet=True)
    with pytest.raises(SweepRunError, match="run 'run2' failed: RuntimeError: interrupted"):
        run_sweep(failing, [Task("run2", {"seed": 2})], out, scheduler="serial", quiet=True)
    # a half-written run (NPZ without its JSON) counts as unfinished
    (out / "runs" / "run3.npz").write_bytes(b"garbage")
    stamp = {t.name: (out / "runs" / f"{t.name}.json").stat().st_mtime_ns for t in TASKS[:2]}
    resumed = run_sweep(fake_train, TASKS, out, workers=2, quiet=True)
    _same(full, resumed)
    # finished runs were not redone
    for name, ns in stamp.items():
        assert (out / "runs" / f"{name}.json").stat().st_mtime_ns == ns
    assert load_run(out / "runs", "nope") is None


def test_mismatched_task_in_folder_is_refused(tmp_path):
    run_sweep(fake_train, TASKS[:1], tmp_path, scheduler="serial", quiet=True)
    with pytest.raises(ValueError, match="different run"):
        run_sweep(fake_train, [Task("run0", {"seed": 0, "n_iterations": 9})], tmp_path, scheduler="serial",
                  quiet=True)
    with pytest.raises(ValueError, match="made by .*fake_train, not by the requested .*failing"):
        run_sweep(failing, TASKS[:1], tmp_path, scheduler="serial", quiet=True)
    with pytest.raises(ValueError, match="unique"):
        run_sweep(fake_train, TASKS[:1] * 2, tmp_path / "x", quiet=True)
    with pytest.raises(ValueError, match="name"):
        Task("bad name/../", {})
    with pytest.raises(ValueError, match="JSON"):
        Task("ok", {"x": object()})


def test_dask_local_cluster_gives_identical_results(tmp_path):
    pytest.importorskip("dask.distributed")
    serial = run_sweep(fake_train, TASKS, tmp_path / "serial", scheduler="serial", quiet=True)
    dask = run_sweep(fake_train, TASKS, tmp_path / "dask", scheduler="local", workers=2, quiet=True)
    _same(serial, dask)


@pytest.mark.parametrize("scheduler", [None, "local"])
def test_a_failed_run_loses_none_of_the_finished_ones(tmp_path, scheduler):
    if scheduler == "local":
        pytest.importorskip("dask.distributed")
    tasks = [Task(f"run{s}", {"seed": s}) for s in range(2)]
    with pytest.raises(SweepRunError, match="run 'run0' failed: RuntimeError: bad seed 0"):
        run_sweep(slow_or_failing, tasks, tmp_path, workers=2, scheduler=scheduler, quiet=True)
    # run1 was in flight when run0 failed: it finished and was saved
    assert load_run(tmp_path / "runs", "run1") is not None
    assert load_run(tmp_path / "runs", "run0") is None


def test_worker_thread_cap_applies_in_a_fresh_process():
    """A spawned worker has not imported numba when its first run starts; the cap must still hold
    (it was skipped there, so two workers each ran numba on every core)."""
    import subprocess
    import sys
    code = ("import sys, types\n"
            "mod = types.ModuleType('probe_mod')\n"
            "def probe():\n"
            "    import numba\n"
            "    return {'threads': numba.get_num_threads()}, {}\n"
            "mod.probe = probe\n"
            "sys.modules['probe_mod'] = mod\n"
            "from homeostasis.sweep import _call\n"
            "assert 'numba' not in sys.modules\n"
            "print(_call('probe_mod:probe', {}, 1)[0]['threads'])\n")
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
