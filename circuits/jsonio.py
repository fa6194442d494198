"""The one JSON writer of the package's results: every ``metrics.json`` and every stored sweep run.

JSON has no NaN or infinity; an undefined figure (a mean over nothing, a ratio
to zero) is written as ``null``.  NumPy scalars and arrays become plain
numbers and lists, paths become strings.  Files are written to a temporary
name and renamed, so an interruption never leaves half a file.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np


def jsonable(x):
    """``x`` with NumPy types converted, non-finite floats as None and tuples as lists (recursively)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, Path):
        return str(x)
    return x


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def dumps(obj, indent: int | None = 2) -> str:
    """JSON text of ``jsonable(obj)``; raises TypeError on an object JSON cannot hold."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False)


def atomic_write(path, write) -> None:
    """Create ``path`` atomically: ``write(tmp)`` fills a temporary file beside it, which is then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes the file owner-only; results are for everyone to read
        os.close(fd)
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path, obj, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (temporary file, then rename)."""
    text = dumps(obj, indent) + "\n"

    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write(text)

    atomic_write(path, write)


def write_npz(path, **arrays) -> None:
    """``np.savez_compressed`` into ``path`` atomically."""
    import numpy as np

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    atomic_write(path, write)


def begin_results(folder, stale=()) -> Path:
    """Start writing a command's results into ``folder`` (created): the previous run's ``metrics.json``
    and the ``stale`` files (names of this command's own outputs that this run will not write again)
    are removed.  The command writes ``metrics.json`` last, so a folder without one holds no finished
    run, and one with it holds only that run's files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("metrics.json", *stale):
        (folder / name).unlink(missing_ok=True)
    return folder
