"""Cross-homeostatic plasticity rule, stochastic rounding and the coarse/fine weight update.

Maryada et al. 2025, Methods:

* eq. 2, the cross-homeostatic rule on the four shared weight classes
  (``E``, ``I`` the trial-averaged in-burst population rates in Hz)::

      dw_ee = +alpha * f(E) * (I_target - I)
      dw_ie = -alpha * f(E) * (E_target - E)
      dw_ei = -alpha * f(I) * (I_target - I)
      dw_ii = +alpha * f(I) * (E_target - E)

  ``f`` is the presynaptic factor: the paper's text uses the rate itself
  (``f(r) = r``, ``presyn="rate"``); the authors' code uses ``max(1, r)``
  (``presyn="max1"``) so that a silent network still learns.  ``dw`` is in
  units of fine DAC steps.  The authors' code also clips each update to
  ``+-5`` fine steps (``clip_fine`` here, ``None`` = no clip, the text).

* eq. 3, stochastic rounding ``SR(x) = ceil(x)`` with probability
  ``x - floor(x)``, else ``floor(x)``; unbiased: ``E[SR(x)] = x``.

* eq. 4, the coarse/fine update with ``F- = 20``, ``F+ = 250``::

      F' = F + SR(dw), C' = C          if F- <= F + SR(dw) <= F+
      C' = C - 1, F' = F+              if F + SR(dw) < F-
      C' = C + 1, F' = F-              if F + SR(dw) > F+

  A coarse step is about a factor 8 in current (Table 2), so crossing a
  coarse boundary is not monotonic: ``(C, F-) - 1`` becomes ``(C-1, F+)``,
  which is a larger current (0.98 I_C(C-1) against 0.08 I_C(C) ~ 0.62 I_C(C-1)),
  and ``(C, F+) + 1`` becomes ``(C+1, F-)``, a smaller one.  This is eq. 4 as
  published, reproduced unchanged; the ``F-``/``F+`` margins keep such
  crossings rare once a weight has settled.

  **Policy at the ends of the coarse range** (the paper does not say; the
  DAC has coarse 0..5 and fine 0..255): at ``C = 0`` a step below ``F-``
  cannot lower the coarse value, so the fine value follows the step down and
  saturates at 0; at ``C = 5`` a step above ``F+`` saturates the fine value at
  255.  Coarse never leaves 0..5, fine never leaves 0..255, and the update
  reports when it saturated.

The weight classes are ordered ``WEIGHTS = ("ee", "ie", "ei", "ii")``:
``w_ee`` Pyr->Pyr, ``w_ie`` Pyr->PV, ``w_ei`` PV->Pyr, ``w_ii`` PV->PV.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from circuits.validation import check_range

#: Order of the four weight classes in every array of this package.
WEIGHTS = ("ee", "ie", "ei", "ii")
#: DAC code range (paper eq. 1, Table 2).
COARSE_MIN, COARSE_MAX = 0, 5
FINE_MIN, FINE_MAX = 0, 255
PRESYN_FACTORS = ("rate", "max1")


@dataclass(frozen=True)
class RuleConfig:
    """Parameters of the cross-homeostatic rule (eq. 2) and the fine/coarse update (eq. 4).

    Attributes
    ----------
    alpha : float
        Learning rate in fine steps per Hz^2 (paper text 0.05; authors' code 0.005).
    e_target_hz, i_target_hz : float
        Set-points of the Pyr and PV population rates (Hz; paper 20 / 40).
    presyn : {'rate', 'max1'}
        Presynaptic factor ``f``: ``r`` (paper text) or ``max(1, r)`` (authors' code).
    clip_fine : float or None
        Clip each ``dw`` to ``[-clip_fine, +clip_fine]`` fine steps before
        rounding (authors' code: 5); ``None`` leaves it unclipped (paper text).
    f_minus, f_plus : int
        Fine-value bounds ``F-``/``F+`` of eq. 4 (20 / 250).
    plastic : tuple of 4 bool
        Which of (ee, ie, ei, ii) learn; the others are frozen (Fig. 4 freezes ei, ii).
    """

    alpha: float = 0.05
    e_target_hz: float = 20.0
    i_target_hz: float = 40.0
    presyn: str = "rate"
    clip_fine: float | None = None
    f_minus: int = 20
    f_plus: int = 250
    plastic: tuple = (True, True, True, True)

    def __post_init__(self) -> None:
        check_range("alpha", self.alpha, 0.0, 100.0)
        check_range("e_target_hz", self.e_target_hz, 0.1, 500.0)
        check_range("i_target_hz", self.i_target_hz, 0.1, 500.0)
        if self.presyn not in PRESYN_FACTORS:
            raise ValueError(f"presyn={self.presyn!r} is not one of {PRESYN_FACTORS}")
        if self.clip_fine is not None:
            check_range("clip_fine", self.clip_fine, 1e-9, 255.0)
        for name in ("f_minus", "f_plus"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or not FINE_MIN <= v <= FINE_MAX:
                raise ValueError(f"{name}={v!r} must be an integer in [{FINE_MIN}, {FINE_MAX}]")
        if not self.f_minus < self.f_plus:
            raise ValueError(f"f_minus={self.f_minus} must be smaller than f_plus={self.f_plus}")
        if len(self.plastic) != 4 or not all(isinstance(p, (bool, np.bool_)) for p in self.plastic):
            raise ValueError(f"plastic={self.plastic!r} must be 4 booleans for {WEIGHTS}")

    @classmethod
    def authors_code(cls, **overrides) -> "RuleConfig":
        """The setting of the authors' code: ``max(1, r)``, alpha = 0.005, clip +-5 fine steps."""
        kw = dict(alpha=0.005, presyn="max1", clip_fine=5.0)
        kw.update(overrides)
        return cls(**kw)


def presynaptic_factor(rate_hz: float, presyn: str) -> float:
    """``f(r)`` of eq. 2: ``r`` (``'rate'``) or ``max(1, r)`` (``'max1'``)."""
    if presyn == "rate":
        return float(rate_hz)
    if presyn == "max1":
        return max(1.0, float(rate_hz))
    raise ValueError(f"presyn={presyn!r} is not one of {PRESYN_FACTORS}")


def weight_update(e_hz: float, i_hz: float, cfg: RuleConfig) -> np.ndarray:
    """Eq. 2: desired updates of (w_ee, w_ie, w_ei, w_ii) in fine DAC steps.

    Parameters
    ----------
    e_hz, i_hz : float
        Mean Pyr (E) and PV (I) rates of the trial (Hz, >= 0, finite).
    cfg : RuleConfig

    Returns
    -------
    ndarray of float64, shape (4,)
        Real-valued updates, clipped to ``+-cfg.clip_fine`` when set, zero
        for frozen weight classes.
    """
    for name, v in (("e_hz", e_hz), ("i_hz", i_hz)):
        if not (math.isfinite(v) and v >= 0.0):
            raise ValueError(f"{name}={v!r} must be a finite rate >= 0 Hz")
    fe = presynaptic_factor(e_hz, cfg.presyn)
    fi = presynaptic_factor(i_hz, cfg.presyn)
    err_e = cfg.e_target_hz - e_hz
    err_i = cfg.i_target_hz - i_hz
    dw = cfg.alpha * np.array([fe * err_i, -fe * err_e, -fi * err_i, fi * err_e], dtype=np.float64)
    if cfg.clip_fine is not None:
        dw = np.clip(dw, -cfg.clip_fine, cfg.clip_fine)
    dw[~np.asarray(cfg.plastic, dtype=bool)] = 0.0
    return dw


def stochastic_round(x, rng: np.random.Generator) -> np.ndarray:
    """Eq. 3: ``ceil(x)`` with probability ``x - floor(x)``, else ``floor(x)``.

    Unbiased (``E[SR(x)] = x``) and exact on integers (the probability of
    rounding up is 0).  Returns int64 of the shape of ``x``; one uniform draw
    per element from ``rng``.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"stochastic_round: non-finite input {x!r}")
    lo = np.floor(x)
    up = rng.random(x.shape) < (x - lo)
    return (lo + up).astype(np.int64)


def coarse_fine_update(coarse: int, fine: int, step: int, cfg: RuleConfig | None = None
                       ) -> tuple[int, int, bool]:
    """Eq. 4: apply an integer fine step to a (coarse, fine) DAC code.

    Parameters
    ----------
    coarse : int in 0..5
    fine : int in 0..255
    step : int
        ``SR(dw)`` in fine steps.
    cfg : RuleConfig, optional
        Supplies ``F-``/``F+`` (default 20 / 250).

    Returns
    -------
    (coarse', fine', saturated) : (int, int, bool)
        ``saturated`` is True when the coarse value was at an end (0 or 5) and
        the fine value had to be clipped to 0..255 instead (module docstring).
    """
    cfg = cfg or _DEFAULT_RULE
    if not COARSE_MIN <= int(coarse) <= COARSE_MAX:
        raise ValueError(f"coarse={coarse!r} is outside the allowed range [{COARSE_MIN}, {COARSE_MAX}]")
    if not FINE_MIN <= int(fine) <= FINE_MAX:
        raise ValueError(f"fine={fine!r} is outside the allowed range [{FINE_MIN}, {FINE_MAX}]")
    c, new = int(coarse), int(fine) + int(step)
    if cfg.f_minus <= new <= cfg.f_plus:
        return c, new, False
    if new < cfg.f_minus:
        if c > COARSE_MIN:
            return c - 1, cfg.f_plus, False
        # coarse 0: the fine value goes on down, floored at 0
        clipped = max(FINE_MIN, new)
        return c, clipped, clipped != new
    if c < COARSE_MAX:
        return c + 1, cfg.f_minus, False
    clipped = min(FINE_MAX, new)
    return c, clipped, clipped != new


_DEFAULT_RULE = RuleConfig()


def apply_update(codes: np.ndarray, dw: np.ndarray, rng: np.random.Generator,
                 cfg: RuleConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stochastically round ``dw`` (eq. 3) and update each weight's code (eq. 4).

    Parameters
    ----------
    codes : int array, shape (4, 2)
        (coarse, fine) of (w_ee, w_ie, w_ei, w_ii).
    dw : float array, shape (4,)
        Desired update in fine steps (:func:`weight_update`).

    Returns
    -------
    new_codes : int64 array (4, 2); steps : int64 array (4,), the rounded steps;
    saturated : bool array (4,)
    """
    codes = np.asarray(codes)
    if codes.shape != (4, 2):
        raise ValueError(f"codes has shape {codes.shape}, expected (4, 2)")
    steps = stochastic_round(dw, rng)
    plastic = np.asarray(cfg.plastic, dtype=bool)
    steps[~plastic] = 0
    out = np.empty((4, 2), dtype=np.int64)
    sat = np.zeros(4, dtype=bool)
    for k in range(4):
        if not plastic[k]:  # frozen: the code stays as it is, even outside [F-, F+]
            out[k] = codes[k]
            continue
        c, f, s = coarse_fine_update(int(codes[k, 0]), int(codes[k, 1]), int(steps[k]), cfg)
        out[k] = (c, f)
        sat[k] = s
    return out, steps, sat


def initial_codes(rng: np.random.Generator, coarse_choices=(3, 4, 5), fine_range=(20, 200)) -> np.ndarray:
    """Paper Methods: initial ``C`` uniform over {3, 4, 5}, ``F`` uniform integer in [20, 200].

    Returns int64 array (4, 2) of (coarse, fine) for (w_ee, w_ie, w_ei, w_ii).
    """
    lo, hi = int(fine_range[0]), int(fine_range[1])
    if not FINE_MIN <= lo <= hi <= FINE_MAX:
        raise ValueError(f"fine_range={fine_range!r} must satisfy 0 <= lo <= hi <= 255")
    choices = np.asarray(coarse_choices, dtype=np.int64)
    if choices.size == 0 or choices.min() < COARSE_MIN or choices.max() > COARSE_MAX:
        raise ValueError(f"coarse_choices={coarse_choices!r} must be non-empty values in 0..5")
    c = rng.choice(choices, size=4)
    f = rng.integers(lo, hi + 1, size=4)
    return np.stack([c, f], axis=1).astype(np.int64)
