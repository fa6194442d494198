"""ngspice driver: netlists from ``netlists/`` in, numpy arrays out.

PySpice (1.5) is used in *shared* mode only: libngspice is loaded once per
process and every analysis runs in it (its subprocess mode does not work with
ngspice 39). PySpice is imported only in this module, so ``import ebn`` and
``import homeostasis`` never need ngspice.

Netlist conventions (see ``netlists/README`` in the module docstrings of the
benches): a bench declares its knobs as top-level ``.param name=value``
defaults, pulls blocks in with ``.include ../block.cir`` (resolved relative to
the bench file), carries no ``.lib`` line (the driver inserts the sky130 line
for the requested corner) and no analysis or ``.control`` lines (the driver
issues the analysis).

Example
-------
>>> r = run_tran("benches/rc_tb.cir", step=1e-6, stop=1e-3, params={"r": 1e3})  # doctest: +SKIP
>>> r.time, r.v("out")                                                           # doctest: +SKIP

Errors: every ngspice failure (parse error, unknown model or subcircuit,
singular matrix, timestep too small, a run that exceeds its time limit) raises
:class:`SpiceError` with ngspice's own text and the netlist's name.
"""
from __future__ import annotations

import logging
import math
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import pdk
from .validation import check_range

#: Root of the SPICE netlists shipped with the package.
NETLIST_DIR = Path(__file__).resolve().parent.parent / "netlists"

#: Debian packages that provide ngspice and the shared library PySpice loads.
DEBIAN_PACKAGES = "ngspice libngspice0 libngspice0-dev"

#: Default wall-clock limit of one analysis (s).
DEFAULT_TIMEOUT_S = 600.0

#: Largest seed ngspice's ``setseed`` accepts (a C int).
NGSPICE_SEED_MAX = 2**31 - 1


def check_ngspice_seed(name: str, seed, decks: int = 1) -> int:
    """``seed`` as an int if it is an ngspice seed and so are the ``decks - 1`` seeds after it
    (deck k of a run uses ``seed + k``); else ValueError naming ``name``, the value and the range."""
    top = NGSPICE_SEED_MAX - (decks - 1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= top:
        raise ValueError(f"{name}={seed!r} is outside the allowed range 0..{top}")
    return int(seed)


class SpiceError(RuntimeError):
    """An ngspice failure, carrying ngspice's own output and the netlist name."""

    def __init__(self, message: str, netlist: str = "", ngspice_output: str = ""):
        self.netlist = netlist
        self.ngspice_output = ngspice_output
        text = f"[{netlist}] {message}" if netlist else message
        if ngspice_output:
            text += "\n--- ngspice said ---\n" + ngspice_output.strip()[-4000:]
        super().__init__(text)


class NgspiceMissingError(SpiceError):
    """ngspice or libngspice is not installed."""


class SpiceTimeoutError(SpiceError):
    """A run exceeded its wall-clock limit (the worker was stopped)."""


@dataclass
class SpiceResult:
    """Vectors of one analysis, by ngspice name (lower case).

    ``time`` (tran) or ``sweep`` (dc) is the independent variable; node voltages
    are ``v(node)``, branch currents of voltage sources ``i(vname)`` (ngspice's
    sign: current flowing into the source's positive terminal).
    """

    analysis: str
    netlist: str
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    log: str = ""

    @property
    def names(self) -> list[str]:
        return sorted(self.vectors)

    @property
    def time(self) -> np.ndarray:
        return self["time"]

    @property
    def sweep(self) -> np.ndarray:
        for key in ("v-sweep", "i-sweep", "sweep", "temp-sweep", "res-sweep"):
            if key in self.vectors:
                return self.vectors[key]
        raise KeyError(f"no sweep vector in {self.analysis} result of {self.netlist}; have {self.names}")

    def __getitem__(self, name: str) -> np.ndarray:
        key = name.lower()
        if key in self.vectors:
            return self.vectors[key]
        m = re.fullmatch(r"v\((.+)\)", key)
        if m and m.group(1) in self.vectors:
            return self.vectors[m.group(1)]
        m = re.fullmatch(r"i\((.+)\)", key)
        if m and f"{m.group(1)}#branch" in self.vectors:
            return self.vectors[f"{m.group(1)}#branch"]
        raise KeyError(f"{name!r} is not a vector of the {self.analysis} result of {self.netlist}; "
                       f"available: {', '.join(self.names)}")

    def v(self, node: str) -> np.ndarray:
        """Voltage of ``node`` (V)."""
        return self[f"v({node})"]

    def i(self, source: str) -> np.ndarray:
        """Branch current of voltage source ``source`` (A)."""
        return self[f"i({source})"]


# --------------------------------------------------------------------------- netlist text
_PARAM_RE = re.compile(r"^\s*\.param\s+(.*)$", re.IGNORECASE)
_ASSIGN_RE = re.compile(r"([A-Za-z_][\w]*)\s*=\s*(\{[^}]*\}|'[^']*'|\S+)")


def _resolve(netlist: str | os.PathLike) -> tuple[str, str, Path | None]:
    """(name, text, directory) of a netlist given by name, path or raw text."""
    if isinstance(netlist, str) and "\n" in netlist:
        return "<inline netlist>", netlist, None
    path = Path(netlist)
    if not path.is_absolute() and not path.exists():
        path = NETLIST_DIR / path
    if not path.exists():
        raise SpiceError(f"netlist file not found: {netlist} (looked in {NETLIST_DIR})", str(netlist))
    try:
        name = str(path.resolve().relative_to(NETLIST_DIR))
    except ValueError:
        name = str(path)
    return name, path.read_text(), path.parent


def _expand_includes(text: str, base: Path | None, name: str, depth: int = 0) -> list[str]:
    if depth > 10:
        raise SpiceError("includes nested deeper than 10 levels (a loop?)", name)
    out: list[str] = []
    for line in text.splitlines():
        m = re.match(r"^\s*\.include\s+[\"']?([^\"'\s]+)[\"']?\s*$", line, re.IGNORECASE)
        if m:
            target = Path(m.group(1))
            if not target.is_absolute():
                target = (base or NETLIST_DIR) / target
            if not target.exists():
                raise SpiceError(f"included file not found: {m.group(1)} (resolved to {target})", name)
            out.append(f"* >>> {target.name}")
            out.extend(_expand_includes(target.read_text(), target.parent, name, depth + 1))
            out.append(f"* <<< {target.name}")
        elif re.match(r"^\s*\.end\s*$", line, re.IGNORECASE):
            continue
        else:
            out.append(line)
    return out


def _join_continuations(lines: list[str]) -> list[str]:
    """Fold SPICE ``+`` continuation lines into the line they continue (so ``.param`` lists spread
    over several lines are seen whole by the parameter override)."""
    out: list[str] = []
    for line in lines:
        if line.lstrip().startswith("+") and out and not out[-1].lstrip().startswith("*"):
            out[-1] = out[-1] + " " + line.lstrip()[1:].strip()
        else:
            out.append(line)
    return out


def _format_value(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"parameter value {value!r} is not finite")
        return repr(v) if isinstance(value, (float, np.floating)) else str(int(value))
    return str(value)


def _override_params(lines: list[str], params: dict | None, name: str, top_level: set[str]) -> list[str]:
    if not params:
        return lines
    unknown = sorted(set(params) - top_level)
    if unknown:
        raise SpiceError(f"unknown parameter(s) {unknown}; the netlist's top-level .param names are "
                         f"{sorted(top_level)}", name)
    values = {k: _format_value(v) for k, v in params.items()}

    def repl(a):
        return f"{a.group(1)}={values[a.group(1)]}" if a.group(1) in values else a.group(0)

    out = list(lines)
    for i, m in _top_level_param_lines(lines):
        out[i] = ".param " + _ASSIGN_RE.sub(repl, m.group(1))
    return out


def _top_level_param_lines(lines: list[str]):
    """(index, match) of every ``.param`` line outside ``.subckt`` ... ``.ends``."""
    depth = 0
    for i, line in enumerate(lines):
        low = line.strip().lower()
        if low.startswith(".subckt"):
            depth += 1
        elif low.startswith(".ends"):
            depth -= 1
        m = _PARAM_RE.match(line)
        if m and depth == 0:
            yield i, m


def _top_level_params(lines: list[str]) -> set[str]:
    return {a.group(1) for _, m in _top_level_param_lines(lines) for a in _ASSIGN_RE.finditer(m.group(1))}


def load_netlist(netlist: str | os.PathLike, params: dict | None = None, corner: str | None = "tt",
                 pdk_source: str | os.PathLike | None = None) -> tuple[str, str]:
    """Netlist text ready for ngspice, and its display name.

    Includes are inlined, ``params`` override top-level ``.param`` defaults
    (an unknown name raises), and the sky130 ``.lib`` line for ``corner`` is
    inserted after the title (``corner=None`` leaves the models out).
    """
    name, text, base = _resolve(netlist)
    lines = _join_continuations(_expand_includes(text, base, name))
    if not lines:
        raise SpiceError("empty netlist", name)
    lines = _override_params(lines, params, name, _top_level_params(lines))
    title, body = lines[0], lines[1:]
    if any(re.match(r"^\s*\.(control|tran|dc|op|ac)\b", ln, re.IGNORECASE) for ln in body):
        raise SpiceError("benches carry no analysis or .control lines: the driver issues the analysis",
                         name)
    header = [title if title.startswith("*") else "* " + title]
    if corner is not None:
        header.append(pdk.lib_line(corner, pdk_source))
    return "\n".join(header + body + [".end"]) + "\n", name


# --------------------------------------------------------------------------- ngspice engine
# libngspice lives in a worker process: after a fatal error ngspice "awaits to
# be detached" and cannot be used again in the same process, and a run that
# hangs must be killable. The worker is restarted transparently.
def _load_shared():
    # PySpice warns "Unsupported Ngspice version 39": harmless with Debian's 39.
    logging.getLogger("PySpice").setLevel(logging.CRITICAL)
    try:
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi
    except ImportError as err:  # pragma: no cover - depends on the machine
        raise NgspiceMissingError(f"PySpice is not installed ({err}); `pip install PySpice==1.5` "
                                  f"and `apt-get install {DEBIAN_PACKAGES}`") from err

    class _Shared(NgSpiceShared):
        """NgSpiceShared whose callbacks return what libngspice expects."""

        @staticmethod
        def _background_thread_running(is_running, ngspice_id, user_data):
            ffi.from_handle(user_data)._is_running = bool(is_running)
            return 0

        @staticmethod
        def _exit(exit_status, immediate_unloading, quit_exit, ngspice_id, user_data):
            # ngspice asks to be unloaded after a fatal error: the worker then quits.
            ffi.from_handle(user_data)._exit_requested = int(exit_status)
            return exit_status

    try:
        shared = _Shared(ngspice_id=0)
    except Exception as err:  # cffi raises OSError when libngspice.so is missing
        raise NgspiceMissingError(f"cannot load libngspice ({err}); install the Debian packages: "
                                  f"apt-get install {DEBIAN_PACKAGES}") from err
    shared._exit_requested = None
    shared.exec_command("set ngbehavior=hsa")
    return shared


def _output(shared) -> str:
    return "\n".join(list(shared._stdout) + list(shared._stderr))


_FATAL_PATTERNS = re.compile(
    r"(error|timestep too small|singular matrix|could not find|unknown (model|subckt|subcircuit)|"
    r"no such|undefined|not found|cannot|fatal|aborted|unable)", re.IGNORECASE)


def _errors_in(text: str) -> list[str]:
    bad = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.lower().startswith("warning") or "unsupported ngspice version" in s.lower():
            continue
        if _FATAL_PATTERNS.search(s):
            bad.append(s)
    return bad


def _simulate(shared, text: str, command: str, analysis: str, seed: int | None, timeout_s: float):
    del timeout_s  # enforced by the parent process
    """Run one analysis in the loaded library: ('ok', vectors, log) or ('error', message, log)."""
    from PySpice.Spice.NgSpice.Shared import NgSpiceCommandError, NgSpiceCircuitError, ffi

    try:
        shared.exec_command("destroy all")
        shared.exec_command("remcirc")
    except NgSpiceCommandError:
        pass
    shared.clear_output()
    if seed is not None:
        shared.exec_command(f"setseed {int(seed)}")
    try:
        shared.load_circuit(text)
    except (NgSpiceCircuitError, NgSpiceCommandError, NameError) as err:
        return "error", f"ngspice rejected the netlist ({err.__class__.__name__})", _output(shared)
    log_load = _output(shared)
    problems = _errors_in(log_load)
    if problems or shared._exit_requested is not None:
        return "error", "ngspice rejected the netlist: " + "; ".join(problems[:5]), log_load
    shared.clear_output()
    lib = shared._ngspice_shared
    # Foreground command: returns when the analysis is done. A run that does not
    # finish in time is ended by the parent, which kills this worker.
    lib.ngSpice_Command(command.encode("ascii"))
    log_run = _output(shared)
    problems = _errors_in(log_run)
    plot = ffi.string(lib.ngSpice_CurPlot()).decode()
    if problems or not plot.lower().startswith(analysis) or shared._exit_requested is not None:
        return "error", f"`{command}` failed: " + ("; ".join(problems[:5]) or f"no {analysis} data"), \
            log_load + "\n" + log_run
    vectors = _read_plot(shared, plot)
    if not vectors or max(len(v) for v in vectors.values()) == 0:
        return "error", f"`{command}` produced no data", log_run
    for key, val in vectors.items():
        if not np.all(np.isfinite(val)):
            return "error", f"`{command}` produced non-finite values in {key}", log_run
    return "ok", vectors, log_load + "\n" + log_run


def _read_plot(shared, plot: str) -> dict[str, np.ndarray]:
    from PySpice.Spice.NgSpice.Shared import ffi, FFI

    lib = shared._ngspice_shared
    names_c = lib.ngSpice_AllVecs(plot.encode())
    out: dict[str, np.ndarray] = {}
    i = 0
    while names_c[i] != FFI.NULL:
        vname = ffi.string(names_c[i]).decode()
        info = lib.ngGet_Vec_Info(f"{plot}.{vname}".encode())
        n = info.v_length
        if info.v_realdata != FFI.NULL:
            arr = np.frombuffer(ffi.buffer(info.v_realdata, n * 8), dtype=np.float64).copy()
        else:
            raw = np.frombuffer(ffi.buffer(info.v_compdata, n * 16), dtype=np.float64)
            arr = raw[0::2] + 1j * raw[1::2]
        out[vname.lower()] = arr
        i += 1
    return out


def _worker_entry(fd: int) -> None:  # pragma: no cover - runs in the worker process
    from multiprocessing.connection import Connection

    from .procs import die_with_parent

    die_with_parent()
    _worker_main(Connection(fd))


def _worker_main(conn) -> None:  # pragma: no cover - runs in the worker process
    try:
        shared = _load_shared()
    except NgspiceMissingError as err:
        conn.send(("missing", str(err), ""))
        return
    conn.send(("ready", int(shared.ngspice_version), ""))
    while True:
        try:
            req = conn.recv()
        except EOFError:
            return
        if req is None:
            return
        try:
            reply = _simulate(shared, *req)
        except Exception as err:  # report, never die silently
            reply = ("error", f"{err.__class__.__name__}: {err}", _output(shared))
        dying = shared._exit_requested is not None
        conn.send((*reply, dying))
        if dying:
            return  # the library cannot be used again: the parent starts a new worker


class _Worker:
    """The process hosting libngspice (one per Python process, started on first use)."""

    _lock = threading.Lock()
    _proc = None
    _conn = None
    version: int | None = None

    @classmethod
    def _start(cls) -> None:
        import socket
        import subprocess
        import sys
        import tempfile
        from multiprocessing.connection import Connection

        # A plain subprocess (not multiprocessing's spawn) so that user scripts
        # need no ``if __name__ == "__main__"`` guard; messages go over a socket.
        ours, theirs = socket.socketpair()
        cls._errlog = tempfile.TemporaryFile()
        # Debian's libngspice is built with OpenMP: on these small circuits its threads
        # only spin, and with several simulations on the cores the spinning threads
        # slow each run by 10x and more. One thread per ngspice unless the user says.
        env = dict(os.environ)
        env["OMP_NUM_THREADS"] = os.environ.get("EIBALANCE_NGSPICE_THREADS", "1")
        env.setdefault("OMP_WAIT_POLICY", "passive")
        proc = subprocess.Popen(
            [sys.executable, "-c", f"from circuits.spice import _worker_entry; _worker_entry({theirs.fileno()})"],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=cls._errlog, stderr=cls._errlog,
            cwd=str(Path(__file__).resolve().parent.parent), env=env)
        theirs.close()
        conn = Connection(ours.detach())
        if not conn.poll(120):
            proc.kill()
            raise SpiceError("the ngspice worker did not start within 120 s")
        try:
            kind, payload, _ = conn.recv()
        except EOFError:
            proc.wait()
            raise SpiceError("the ngspice worker failed to start:\n" + cls._stderr_text()) from None
        if kind == "missing":
            proc.wait()
            raise NgspiceMissingError(payload)
        cls._proc, cls._conn, cls.version = proc, conn, payload

    @classmethod
    def _stderr_text(cls) -> str:
        try:
            cls._errlog.seek(0)
            return cls._errlog.read()[-4000:].decode(errors="replace")
        except Exception:
            return ""

    @classmethod
    def _stop(cls) -> None:
        if cls._proc is not None:
            cls._proc.kill()
            cls._proc.wait()
        cls._proc = cls._conn = None

    @classmethod
    def _alive(cls) -> bool:
        return cls._proc is not None and cls._proc.poll() is None

    @classmethod
    def call(cls, text, name, command, analysis, seed, timeout_s) -> SpiceResult:
        with cls._lock:
            if not cls._alive():
                cls._stop()
                cls._start()
            try:
                cls._conn.send((text, command, analysis, seed, timeout_s))
            except (BrokenPipeError, ConnectionResetError):
                cls._stop()
                cls._start()
                cls._conn.send((text, command, analysis, seed, timeout_s))
            if not cls._conn.poll(timeout_s):
                cls._stop()
                raise SpiceTimeoutError(f"`{command}` exceeded its time limit of {timeout_s:g} s; "
                                 "the ngspice worker was stopped", name)
            try:
                kind, payload, log, dying = cls._conn.recv()
            except EOFError:
                cls._stop()
                raise SpiceError(f"the ngspice worker died during `{command}`", name,
                                 cls._stderr_text()) from None
            if dying:
                cls._stop()
            if kind != "ok":
                raise SpiceError(payload, name, log)
            return SpiceResult(analysis, name, payload, log)


def ngspice_version() -> int:
    """Version number of the libngspice the driver uses (e.g. 39)."""
    with _Worker._lock:
        if not _Worker._alive():
            _Worker._stop()
            _Worker._start()
    return int(_Worker.version)


def _run(text, name, command, analysis, seed, timeout_s) -> SpiceResult:
    if seed is not None:
        check_ngspice_seed("seed", seed)
    return _Worker.call(text, name, command, analysis, seed, float(timeout_s))


# --------------------------------------------------------------------------- public analyses
def _check_positive(name: str, value) -> float:
    return check_range(name, value, 0.0, math.inf, lo_open=True)


def run_op(netlist, params: dict | None = None, corner: str | None = "tt", seed: int | None = None,
           timeout_s: float = DEFAULT_TIMEOUT_S, pdk_source=None) -> SpiceResult:
    """DC operating point. Each vector has one element."""
    text, name = load_netlist(netlist, params, corner, pdk_source)
    return _run(text, name, "op", "op", seed, timeout_s)


def run_dc(netlist, source: str, start: float, stop: float, step: float, params: dict | None = None,
           corner: str | None = "tt", seed: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
           pdk_source=None) -> SpiceResult:
    """DC sweep of independent source ``source`` from ``start`` to ``stop`` in ``step``."""
    if not re.fullmatch(r"[A-Za-z]\w*", source):
        raise ValueError(f"source={source!r} is not a SPICE source name")
    source = source.lower()
    _check_positive("step", abs(step))
    text, name = load_netlist(netlist, params, corner, pdk_source)
    return _run(text, name, f"dc {source} {float(start)!r} {float(stop)!r} {float(step)!r}", "dc", seed,
                timeout_s)


def run_tran(netlist, step: float, stop: float, params: dict | None = None, corner: str | None = "tt",
             seed: int | None = None, max_step: float | None = None, start: float = 0.0,
             uic: bool = False, timeout_s: float = DEFAULT_TIMEOUT_S, pdk_source=None) -> SpiceResult:
    """Transient analysis up to ``stop`` seconds with output step ``step`` (s)."""
    step = _check_positive("step", step)
    stop = _check_positive("stop", stop)
    if step > stop:
        raise ValueError(f"step={step!r} is larger than stop={stop!r}")
    cmd = f"tran {step!r} {stop!r} {float(start)!r}"
    if max_step is not None:
        cmd += f" {_check_positive('max_step', max_step)!r}"
    if uic:
        cmd += " uic"
    text, name = load_netlist(netlist, params, corner, pdk_source)
    return _run(text, name, cmd, "tran", seed, timeout_s)
