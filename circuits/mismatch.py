"""The common device-mismatch model (Pelgrom et al. 1989), used by every level of the package.

Pelgrom's law gives the threshold-voltage spread of a transistor of gate area
``W L``::

    sigma_VT = A_VT / sqrt(W L)                                   (Pelgrom 1989, eq. 1)

In subthreshold a threshold shift ``dVT`` multiplies the drain current::

    I' = I * exp(-kappa dVT / U_T)

so with ``dVT ~ N(0, sigma_VT)`` the current factor is log-normal with
``sigma_ln = kappa sigma_VT / U_T`` and median 1.  Its coefficient of variation
is ``CV = sqrt(exp(sigma_ln^2) - 1)``.  A model is specified either by device
geometry (what the SPICE Monte Carlo sees through the PDK's own statistics) or
by a direct CV (the DYNAP-SE2's "about 20 %"); both produce the same kind of
frozen log-normal multipliers from an explicit seed.

Example
-------
>>> m = MismatchModel.from_geometry(2.0, 2.0, "nfet")
>>> round(m.cv, 3)
0.051
>>> f = m.draw((4, 3), seed=1)          # frozen factors, median 1
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from .constants import A_VT_V_UM, NOMINAL, _check_device
from .validation import check_range as _finite_in

#: Geometry limits (µm) accepted by the model: sky130's minimum L is 0.15 µm;
#: anything above 1 mm is treated as a unit error.
_MIN_DIM_UM = 0.1
_MAX_DIM_UM = 1000.0
#: A CV above 300 % is not a mismatch figure of any real process.
_MAX_CV = 3.0


def sky130_geometry_factor(w_um: float, l_um: float, device: str = "nfet") -> float:
    """Small-device multiplier the sky130 models apply to the Pelgrom term.

    The PDK's ``nfet_01v8`` scales its whole threshold shift, mismatch
    included, by ``(0.064/L + 0.992) (0.245/W + 0.965) (0.056/(W L) + 0.999)``
    (``delvto`` in ``models_fet.spice``); its ``pfet_01v8`` applies the
    corresponding factor only to the corner shift, not to the mismatch term.
    The factor tends to 0.956 for large devices (1.04 at W = L = 4 µm, 1.35 at 1 µm).
    """
    w = _finite_in("w_um", w_um, _MIN_DIM_UM, _MAX_DIM_UM)
    l = _finite_in("l_um", l_um, _MIN_DIM_UM, _MAX_DIM_UM)
    if _check_device(device) == "pfet":
        return 1.0
    return (0.008 * 8 / l + 0.992) * (0.035 * 7 / w + 0.965) * (0.001 * 56 / (w * l) + 0.999)


def sigma_vt(w_um: float, l_um: float, device: str = "nfet", *, pdk_geometry: bool = True) -> float:
    """Pelgrom threshold-voltage standard deviation (V) of one device.

    ``sigma_VT = A_VT / sqrt(W L)`` (Pelgrom 1989), times the sky130 models'
    own small-device factor (:func:`sky130_geometry_factor`) unless
    ``pdk_geometry=False`` — so the figure is what the PDK's Monte Carlo draws.

    Parameters
    ----------
    w_um, l_um : float
        Gate width and length in µm (0.1 .. 1000).
    device : {'nfet', 'pfet'}
        sky130 device type, selecting ``A_VT`` (3.356 / 5.856 mV·µm).
    """
    w = _finite_in("w_um", w_um, _MIN_DIM_UM, _MAX_DIM_UM)
    l = _finite_in("l_um", l_um, _MIN_DIM_UM, _MAX_DIM_UM)
    factor = sky130_geometry_factor(w, l, device) if pdk_geometry else 1.0
    return factor * A_VT_V_UM[_check_device(device)] / math.sqrt(w * l)


def cv_from_sigma_ln(sigma_ln: float) -> float:
    """Coefficient of variation of a log-normal factor ``exp(N(0, sigma_ln))``."""
    return math.sqrt(math.expm1(sigma_ln**2))


def sigma_ln_from_cv(cv: float) -> float:
    """Inverse of :func:`cv_from_sigma_ln`: ``sigma_ln = sqrt(ln(1 + CV^2))``."""
    return math.sqrt(math.log1p(cv**2))


def stream_seed(seed: int, *keys) -> np.random.SeedSequence:
    """A seed sequence for one named random stream of a seeded object.

    ``stream_seed(chip_seed, "neuron", "i_tau")`` always gives the same stream,
    independent of the order in which other streams are drawn, so a virtual
    chip's mismatch stays frozen when code elsewhere changes.
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    words = [zlib.crc32(str(k).encode()) for k in keys]
    return np.random.SeedSequence([int(seed), *words])


@dataclass(frozen=True)
class MismatchModel:
    """Log-normal subthreshold current mismatch, ``factor = exp(sigma_ln * z)``, z ~ N(0, 1).

    Build it with :meth:`from_geometry`, :meth:`from_cv` or :meth:`none`.

    Attributes
    ----------
    sigma_ln : float
        Standard deviation of ``ln(factor)`` (dimensionless).
    source : str
        How the model was specified (for reports).
    """

    sigma_ln: float
    source: str = "sigma_ln"

    def __post_init__(self) -> None:
        _finite_in("sigma_ln", self.sigma_ln, 0.0, sigma_ln_from_cv(_MAX_CV))

    # -- constructors -------------------------------------------------------
    @classmethod
    def from_geometry(cls, w_um: float, l_um: float, device: str = "nfet", *,
                      kappa: float | None = None, u_t: float | None = None) -> "MismatchModel":
        """Model of one sky130 device of ``W x L`` µm in subthreshold.

        ``sigma_ln = kappa * A_VT / sqrt(W L) / U_T``; ``kappa`` and ``U_T``
        default to the package constants (:mod:`circuits.constants`).
        """
        kappa = NOMINAL.kappa(device) if kappa is None else _finite_in("kappa", kappa, 0.3, 1.0)
        u_t = NOMINAL.u_t if u_t is None else _finite_in("u_t", u_t, 1e-3, 0.1)
        s = kappa * sigma_vt(w_um, l_um, device) / u_t
        return cls(s, f"{device} W={float(w_um):g}um L={float(l_um):g}um")

    @classmethod
    def from_cv(cls, cv: float) -> "MismatchModel":
        """Model with a given coefficient of variation of the current factor (0 < cv <= 3)."""
        c = _finite_in("cv", cv, 0.0, _MAX_CV, lo_open=True)
        return cls(sigma_ln_from_cv(c), f"cv={c:g}")

    @classmethod
    def none(cls) -> "MismatchModel":
        """The nominal device: every factor is exactly 1."""
        return cls(0.0, "none")

    # -- properties ---------------------------------------------------------
    @property
    def cv(self) -> float:
        """Coefficient of variation of the current factor."""
        return cv_from_sigma_ln(self.sigma_ln)

    def combined(self, *others: "MismatchModel") -> "MismatchModel":
        """Product of independent factors: the log-variances add."""
        s2 = self.sigma_ln**2 + sum(o.sigma_ln**2 for o in others)
        return MismatchModel(math.sqrt(s2), " * ".join([self.source, *[o.source for o in others]]))

    # -- draws --------------------------------------------------------------
    def draw(self, shape, seed=None, *, rng: np.random.Generator | None = None) -> np.ndarray:
        """Frozen current multipliers of the given ``shape`` (float64, median 1).

        Exactly one of ``seed`` (int, or a :class:`numpy.random.SeedSequence`
        from :func:`stream_seed`) and ``rng`` must be given; the same seed
        returns the same array every time.
        """
        if (seed is None) == (rng is None):
            raise ValueError("give exactly one of seed= or rng= (mismatch draws are always seeded)")
        if rng is None:
            if isinstance(seed, np.random.SeedSequence):
                rng = np.random.default_rng(seed)
            else:
                rng = np.random.default_rng(stream_seed(seed))
        z = rng.standard_normal(shape)
        if self.sigma_ln == 0.0:
            return np.ones(np.shape(z), dtype=np.float64)
        return np.exp(self.sigma_ln * z)

    def delta_vt(self, shape, seed=None, *, kappa: float | None = None, u_t: float | None = None,
                 rng: np.random.Generator | None = None) -> np.ndarray:
        """Threshold shifts (V) equivalent to :meth:`draw` with the same seed.

        ``dVT = -U_T ln(factor) / kappa``; useful to feed the same virtual chip
        to a SPICE netlist as ``delvto`` values.
        """
        kappa = NOMINAL.kappa_n if kappa is None else kappa
        u_t = NOMINAL.u_t if u_t is None else u_t
        return -u_t * np.log(self.draw(shape, seed, rng=rng)) / kappa
