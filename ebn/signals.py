"""Input signals: white noise smoothed by a normalised Gaussian (Büchel et al. 2021, Sec. II).

``x_d(t) = A sum_j g(t - t_j) z_j``, ``z_j ~ N(0, 1)`` i.i.d. per time step,
``g`` a Gaussian of standard deviation ``sigma`` normalised to unit sum (the
authors' kernel), and ``A = std / sqrt(sum g^2)`` so that every component has
the requested stationary standard deviation.  The time derivative is the same
noise convolved with ``g'`` (exact derivative of the kernel), which the network
needs for its command signal ``c = x / tau_m + dx/dt`` (Boerlin et al. 2013,
eq. 4: with it the membrane potential is ``V = D^T (x - x_hat)``).
"""
from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve

_HALF_WIDTH_SIGMAS = 5.0


def gaussian_kernel(sigma: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Normalised Gaussian ``g`` (unit sum) and its time derivative ``g'`` (1/s), shape (2M+1,)."""
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma={sigma!r} must be a positive number of seconds")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt={dt!r} must be a positive number of seconds")
    m = int(np.ceil(_HALF_WIDTH_SIGMAS * sigma / dt))
    t = np.arange(-m, m + 1) * dt
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    dg = -t / sigma**2 * g
    return g, dg


def smoothed_noise(rng: np.random.Generator, n_steps: int, n_dims: int, dt: float,
                   sigma: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """One signal ``x`` and its derivative ``dx/dt``, each of shape (n_steps, n_dims).

    The noise is drawn with ``M`` extra samples on each side so that the
    signal is stationary from the first step (no edge effect of the filter).
    Units: ``x`` in V, ``dx/dt`` in V/s.
    """
    if n_steps < 1 or n_dims < 1:
        raise ValueError(f"n_steps={n_steps!r} and n_dims={n_dims!r} must be >= 1")
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std={std!r} must be positive")
    g, dg = gaussian_kernel(sigma, dt)
    m = (g.size - 1) // 2
    z = rng.standard_normal((n_steps + 2 * m, n_dims))
    scale = std / np.sqrt(np.sum(g**2))
    x = scale * fftconvolve(z, g[:, None], mode="valid", axes=0)
    xd = scale * fftconvolve(z, dg[:, None], mode="valid", axes=0)
    return np.ascontiguousarray(x), np.ascontiguousarray(xd)


def command(x: np.ndarray, xdot: np.ndarray, tau_mem: float) -> np.ndarray:
    """Command signal ``c = x / tau_m + dx/dt`` (V/s), shape of ``x``."""
    return np.ascontiguousarray(x / tau_mem + xdot)
