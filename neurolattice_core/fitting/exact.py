"""Exact maximum likelihood of the static pairwise model by enumeration (N <= 20).

P(s) = exp(sum_i h_i s_i + sum_{i<j} J_ij s_i s_j) / Z over the 2^N patterns s in {-1, +1}^N
(the maxent model, theta = 1). The log-likelihood per sample,

    l(h, J) = sum_i h_i <s_i>_data + sum_{i<j} J_ij <s_i s_j>_data - log Z - (lam / 2) sum J^2,

is concave; its gradient is data moments minus model moments (minus lam J) and its Hessian
minus the model covariance of the statistics. It is maximised by Newton's method with the exact
Hessian for N <= 16 and by L-BFGS with the exact gradient above. The L2 strength lam follows the
pseudo-likelihood rule (:func:`.pseudolikelihood.default_regularization`), so ``exact`` and
``pl`` fit the same penalised objective family and agree as samples grow.
"""

import time

import numpy as np
from scipy import optimize

from ..errors import FitError
from .pseudolikelihood import default_regularization

__all__ = ["fit_exact", "maxent_distribution", "MAX_EXACT_UNITS"]

MAX_EXACT_UNITS = 20
_NEWTON_UNITS = 16
_CHUNK = 1 << 14


def _patterns(n, start, stop):
    k = np.arange(start, stop, dtype=np.int64)
    return (2 * ((k[:, None] >> np.arange(n)) & 1) - 1).astype(np.float64)


def _features(S, iu, ju):
    return np.concatenate([S, S[:, iu] * S[:, ju]], axis=1)


def maxent_distribution(h, J):
    """All 2^N patterns of the static model and their probabilities.

    Parameters
    ----------
    h : numpy.ndarray, float64, shape (N,)
    J : numpy.ndarray, float64, shape (N, N)
        Symmetric; the diagonal is ignored.

    Returns
    -------
    patterns : numpy.ndarray, int8, shape (2^N, N)
        Pattern k has s_i = +1 where bit i of k is set.
    probabilities : numpy.ndarray, float64, shape (2^N,)
    """
    h = np.asarray(h, dtype=np.float64)
    n = h.size
    if n > MAX_EXACT_UNITS:
        raise FitError(f"enumeration needs N <= {MAX_EXACT_UNITS} units, got {n}")
    Jz = np.asarray(J, dtype=np.float64) - np.diag(np.diag(J))
    S = _patterns(n, 0, 1 << n)
    logw = S @ h + 0.5 * np.einsum("ki,ij,kj->k", S, Jz, S)
    w = np.exp(logw - logw.max())
    return S.astype(np.int8), w / w.sum()


def _model_moments(theta, n, iu, ju, hessian):
    """Return log Z, <f> and (optionally) Cov(f) under theta = [h, J_upper]."""
    n_states = 1 << n
    logw = np.empty(n_states)
    for a in range(0, n_states, _CHUNK):
        b = min(a + _CHUNK, n_states)
        logw[a:b] = _features(_patterns(n, a, b), iu, ju) @ theta
    shift = logw.max()
    p = np.exp(logw - shift)
    z = p.sum()
    p /= z
    mean = np.zeros(theta.size)
    second = np.zeros((theta.size, theta.size)) if hessian else None
    for a in range(0, n_states, _CHUNK):
        b = min(a + _CHUNK, n_states)
        F = _features(_patterns(n, a, b), iu, ju)
        pc = p[a:b]
        mean += pc @ F
        if hessian:
            second += F.T @ (F * pc[:, None])
    cov = second - np.outer(mean, mean) if hessian else None
    return np.log(z) + shift, mean, cov


def fit_exact(data, *, regularization=None, init=None, max_iter=100, tol=1e-8):
    """Exact maximum-likelihood maxent fit by enumeration of all 2^N patterns (N <= 20).

    Parameters
    ----------
    data : FitData
        Training data; every (trial, tick) is one sample (time order is ignored).
    regularization : float, optional
        Per-sample L2 strength on J (default: the pseudo-likelihood rule, 1 / n_samples).
    init : dict, optional
        ``h``, ``J`` to start from (default: independent model).
    max_iter : int
    tol : float
        Newton: stop when the Newton decrement of the total log-likelihood (per-sample
        decrement times the number of samples; squared step in standard-error units, as in
        :mod:`.newton`) is below ``tol``; L-BFGS: projected-gradient tolerance ``tol / 10``.

    Returns
    -------
    dict
        ``h``, ``J`` (symmetric, zero diagonal), ``K`` None, ``u`` None, ``regularization``,
        ``diagnostics`` (converged, iterations, seconds, log_likelihood per sample, warnings).
    """
    n = data.n_units
    if n > MAX_EXACT_UNITS:
        raise FitError(f"exact maximum likelihood enumerates 2^N patterns and needs N <= "
                       f"{MAX_EXACT_UNITS}; this recording has {n} units: use method='pl'")
    start = time.perf_counter()
    S = data.spins.transpose(0, 2, 1).reshape(-1, n).astype(np.float64)
    M = S.shape[0]
    iu, ju = np.triu_indices(n, 1)
    target = np.concatenate([S.mean(axis=0), (S.T @ S / M)[iu, ju]])
    lam = default_regularization(M) if regularization is None else float(regularization)
    pen = np.concatenate([np.zeros(n), np.full(iu.size, lam)])
    if init is None:
        m = target[:n]
        theta = np.concatenate([np.arctanh(np.clip(m, -1 + 1e-6, 1 - 1e-6)), np.zeros(iu.size)])
    else:
        theta = np.concatenate([np.asarray(init["h"], float), np.asarray(init["J"])[iu, ju]])

    def objective(th):
        logz, mean, _ = _model_moments(th, n, iu, ju, False)
        val = th @ target - logz - 0.5 * np.sum(pen * th**2)
        return -val, -(target - mean - pen * th)

    converged, it, warnings = False, 0, []
    if n <= _NEWTON_UNITS:
        logz, mean, cov = _model_moments(theta, n, iu, ju, True)
        value = theta @ target - logz - 0.5 * np.sum(pen * theta**2)
        while True:
            g = target - mean - pen * theta
            A = cov + np.diag(pen) + 1e-12 * np.eye(theta.size)
            d = np.linalg.solve(A, g)
            dec = float(g @ d)
            if dec * M <= tol:
                converged = True
                break
            if it >= max_iter:
                break
            it += 1
            step = 1.0
            for _ in range(40):
                trial = theta + step * d
                logz_t, mean_t, cov_t = _model_moments(trial, n, iu, ju, True)
                new = trial @ target - logz_t - 0.5 * np.sum(pen * trial**2)
                if new >= value + 0.25 * step * dec:
                    break
                step *= 0.5
            theta, value, mean, cov = trial, new, mean_t, cov_t
    else:
        res = optimize.minimize(objective, theta, jac=True, method="L-BFGS-B",
                                options={"maxiter": max_iter * 20, "gtol": tol / 10,
                                         "ftol": 1e-15})
        theta, it, converged = res.x, int(res.nit), bool(res.success)
        value = -res.fun
        if not converged:
            warnings.append(f"L-BFGS stopped: {res.message}")
    if not converged and not warnings:
        warnings.append(f"exact Newton did not converge in {max_iter} iterations")
    h = theta[:n].copy()
    J = np.zeros((n, n))
    J[iu, ju] = theta[n:]
    J = J + J.T
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(J))):
        raise FitError("the exact fit produced non-finite parameters (silent or duplicate "
                       "units?); drop them or raise the regularization")
    return {"h": h, "J": J, "K": None, "u": None,
            "regularization": {"rule": "lam = 1 / n_samples" if regularization is None
                               else "user value", "lam": lam},
            "diagnostics": {"converged": converged, "iterations": int(it),
                            "seconds": time.perf_counter() - start,
                            "log_likelihood": float(value), "warnings": warnings}}
