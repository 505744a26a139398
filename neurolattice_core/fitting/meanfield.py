"""Mean-field inversions: instant fits and starting points (MODEL.md section 5).

All moments are in spin units from the training data: m_i = <s_i>, the connected equal-time
covariance C_ij = <s_i s_j> - m_i m_j and the lag-1 covariance
D_ij = <s_i,t+1 s_j,t> - m_i m_j (within trials).

- maxent, naive:  J = -(C^-1) off the diagonal,  h_i = atanh m_i - sum_j J_ij m_j.
- maxent, TAP (Kappen & Rodriguez 1998; Tanaka 1998): (C^-1)_ij = -J_ij - 2 J_ij^2 m_i m_j,
  J_ij = (sqrt(1 - 8 m_i m_j (C^-1)_ij) - 1) / (4 m_i m_j) (naive value where the root is
  complex), h_i = atanh m_i - sum_j J_ij m_j + m_i sum_j J_ij^2 (1 - m_j^2).
- lft, naive: the same inversion on the space-time lattice. With the stationary covariance of an
  L-tick window (block Toeplitz, blocks D(tau) = <s_i,t s_j,t+tau> - m_i m_j) and G its inverse,
  the central tick c gives J_ij = -G[(i,c),(j,c)], K_i = -(G[(i,c),(i,c+1)] + G[(i,c),(i,c-1)])/2
  and h_i = atanh m_i - sum_j J_ij m_j - 2 K_i m_i.
- kinetic (Roudi & Hertz, PRL 106, 048702 (2011)): naive J = A^-1 D C^-1 with
  A = diag(1 - m_i^2); TAP: A_ii = (1 - m_i^2)(1 - F_i) with F_i (1 - F_i)^2 =
  (1 - m_i^2) sum_j (J^nMF_ij)^2 (1 - m_j^2), smallest root in [0, 1/3];
  h_i = atanh m_i - sum_j J_ij m_j.

An ill-conditioned covariance (condition number above 1e8, e.g. near-duplicate units) is
shrunk towards its diagonal, C -> (1 - a) C + a diag(C), with the smallest a in a fixed ladder
that brings the condition number below 1e8; the result's warnings say so.
"""

import time

import numpy as np

from ..errors import FitError
from ..observables import lagged_correlation

__all__ = ["fit_meanfield"]

MAX_CONDITION = 1e8
_SHRINK_LADDER = (0.0, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3)


def _moments(spins):
    m = spins.mean(axis=(0, 2), dtype=np.float64)
    C = lagged_correlation(spins, 0)
    C = 0.5 * (C + C.T)
    return m, C


def _safe_inverse(C, warnings, name="covariance"):
    var = np.diag(C)
    if np.any(var <= 1e-12):
        raise FitError(f"the {name} matrix has units with zero variance "
                       f"({np.flatnonzero(var <= 1e-12).tolist()}): drop silent or "
                       "always-on units before a mean-field fit")
    for a in _SHRINK_LADDER:
        Cs = (1.0 - a) * C + a * np.diag(var)
        if np.linalg.cond(Cs) < MAX_CONDITION:
            if a > 0:
                warnings.append(f"the {name} matrix is ill-conditioned (near-duplicate units?); "
                                f"shrunk towards its diagonal by {a:g}")
            return np.linalg.inv(Cs)
    raise FitError(f"the {name} matrix is singular even after shrinkage; drop duplicate units")


def _fields(m, J):
    return np.arctanh(np.clip(m, -1 + 1e-9, 1 - 1e-9)) - J @ m


def _maxent(m, C, variant, warnings):
    Ci = _safe_inverse(C, warnings)
    J = -Ci.copy()
    np.fill_diagonal(J, 0.0)
    if variant == "naive":
        return _fields(m, J), J
    mm = np.outer(m, m)
    disc = 1.0 - 8.0 * mm * Ci
    small = np.abs(mm) < 1e-12
    ok = (disc >= 0) & ~small
    Jt = J.copy()
    Jt[ok] = (np.sqrt(disc[ok]) - 1.0) / (4.0 * mm[ok])
    np.fill_diagonal(Jt, 0.0)
    n_bad = int(np.sum((disc < 0) & ~small) // 2)
    if n_bad:
        warnings.append(f"TAP has no real solution for {n_bad} pairs; naive values used there")
    h = _fields(m, Jt) + m * ((Jt**2) @ (1.0 - m**2))
    return h, Jt


def _lft(spins, m, window, warnings):
    n, T = spins.shape[1], spins.shape[2]
    L = int(min(window, T))
    if L < 3:
        raise FitError("the lft mean-field fit needs trials of at least 3 ticks")
    D = [lagged_correlation(spins, tau) for tau in range(L)]
    D[0] = 0.5 * (D[0] + D[0].T)
    big = np.zeros((L, n, L, n))
    for a in range(L):
        for b in range(L):
            big[a, :, b, :] = D[b - a] if b >= a else D[a - b].T
    G = _safe_inverse(big.reshape(L * n, L * n), warnings, "space-time covariance")
    G = G.reshape(L, n, L, n)
    c = L // 2
    J = -G[c, :, c, :]
    J = 0.5 * (J + J.T)
    np.fill_diagonal(J, 0.0)
    idx = np.arange(n)
    K = -0.5 * (G[c, idx, c + 1, idx] + G[c, idx, c - 1, idx])
    h = _fields(m, J) - 2.0 * K * m
    return h, J, K


def _kinetic(spins, m, C, variant, warnings):
    Dp = lagged_correlation(spins, 1).T          # <s_i,t+1 s_j,t> - m m
    Ci = _safe_inverse(C, warnings)
    a = 1.0 - m**2
    B = Dp @ Ci
    J = B / a[:, None]
    if variant == "tap":
        rhs = a * ((J**2) @ a)
        F = np.zeros_like(m)
        bad = rhs > 4.0 / 27.0
        for i in np.flatnonzero(~bad):
            roots = np.roots([1.0, -2.0, 1.0, -rhs[i]])
            real = roots[np.abs(roots.imag) < 1e-9].real
            real = real[(real >= 0) & (real <= 1.0 / 3.0 + 1e-12)]
            F[i] = real.min() if real.size else 0.0
        if bad.any():
            warnings.append(f"kinetic TAP has no solution for units {np.flatnonzero(bad).tolist()};"
                            " naive values used there")
        J = J / (1.0 - F)[:, None]
    return _fields(m, J), J


def fit_meanfield(data, model="maxent", *, variant="tap", window=7):
    """Mean-field / TAP inversion of the moments of ``data`` (module docstring).

    Parameters
    ----------
    data : FitData
    model : {"maxent", "lft", "kinetic"}
    variant : {"tap", "naive"}
        lft has the naive inversion only (``"tap"`` falls back to it with a warning).
    window : int
        Ticks L of the space-time window for lft (>= 3).

    Returns
    -------
    dict
        ``h``, ``J``, ``K`` (lft) or None, ``u`` None, ``regularization`` (shrinkage note),
        ``diagnostics`` (converged True: a closed form; seconds; warnings).
    """
    if variant not in ("tap", "naive"):
        raise FitError(f"variant must be 'tap' or 'naive', got {variant!r}")
    start = time.perf_counter()
    warnings = []
    s = data.spins
    m, C = _moments(s)
    K = None
    if model == "maxent":
        h, J = _maxent(m, C, variant, warnings)
    elif model == "lft":
        if variant == "tap":
            warnings.append("lft mean field: only the naive inversion exists; used it")
        h, J, K = _lft(s, m, window, warnings)
    elif model == "kinetic":
        if s.shape[2] < 2:
            raise FitError("the kinetic model needs trials of at least 2 ticks")
        h, J = _kinetic(s, m, C, variant, warnings)
    else:
        raise FitError(f"model must be 'maxent', 'lft' or 'kinetic', got {model!r}")
    for name, arr in (("h", h), ("J", J), ("K", K)):
        if arr is not None and not np.all(np.isfinite(arr)):
            raise FitError(f"the mean-field inversion produced non-finite {name}")
    return {"h": h, "J": J, "K": K, "u": None,
            "regularization": {"rule": "none (covariance shrinkage only if ill-conditioned)",
                               "lam": 0.0},
            "diagnostics": {"converged": True, "iterations": 0, "variant": variant,
                            "seconds": time.perf_counter() - start, "warnings": warnings}}
