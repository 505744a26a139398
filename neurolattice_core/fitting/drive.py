"""Pseudo-likelihood with a common time-locked drive u_t: joint Newton by Schur complement.

With a drive the local field of neuron i in row m (trial r, tick t) is H_mi = u_t + (the
neuron's own terms, :mod:`.newton`), so u couples the otherwise separate neuron problems. The
joint Newton system

    [ A_1             B_1 ] [d_1]   [g_1]
    [      ...        ... ] [...] = [...]
    [           A_N   B_N ] [d_N]   [g_N]
    [ B_1^T ... B_N^T  D  ] [d_u]   [g_u]

(A_i: minus the Hessian of neuron i, P x P; B_i[:, t] = sum_{rows m at tick t} w_mi x_m;
D = diag(sum_{m at t, i} w_mi + lam)) is solved through the Schur complement
S = D - sum_i B_i^T A_i^-1 B_i (T x T), then d_i = A_i^-1 (g_i - B_i d_u), with Armijo
backtracking on the total objective. Convergence as in :mod:`.newton` (decrement of the joint
step in standard-error units). The drive is kept at mean zero (its mean moved into the biases)
after each step.
"""

import math

import numpy as np
from numba import njit, prange

from . import newton

__all__ = ["solve_with_drive", "time_locking_statistic", "TIME_LOCKED"]

TIME_LOCKED = 2.0
"""``time_locking_statistic`` above which trials are treated as stimulus-locked."""


def time_locking_statistic(spins):
    """How much the trial-averaged population count varies with time, beyond chance.

    S = mean_t (kbar_t - kbar)^2 / (mean_t var_r(k_rt) / R), with k_rt the number of active
    units in tick t of trial r: the population analogue of the stationarity statistic of
    MODEL.md section 4. About 1 for stationary trials (independent draws of one process);
    much larger when a repeated stimulus drives the population (Onken recordings: 39-77).

    Parameters
    ----------
    spins : numpy.ndarray, int8, shape (R, N, T)
        Aligned trials, R >= 2.

    Returns
    -------
    float
    """
    k = (spins > 0).sum(axis=1, dtype=np.float64)
    r = k.shape[0]
    noise = k.var(axis=0, ddof=1).mean() / r
    spread = np.mean((k.mean(axis=0) - k.mean()) ** 2)
    return float(spread / noise) if noise > 0 else 0.0


@njit(cache=True, nogil=True, parallel=True)
def _blocks(act_ptr, act_idx, y, nb, counts, tick, H, exclude_self, use_k, n_ticks, g, A, B):
    """Fill g (N, P), A (N, P, P) and B (N, P, T) at fields H (M, N); prange over neurons."""
    n, P = g.shape
    kk = P - 1
    for i in prange(n):
        gi = g[i]
        Ai = A[i]
        Bi = B[i]
        newton._gradient_hessian(act_ptr, act_idx, y, nb, counts, H[:, i].copy(), i, use_k,
                                 gi, Ai)
        Bi[:, :] = 0.0
        for m in range(counts.size):
            t = math.tanh(H[m, i])
            w = counts[m] * (1.0 - t * t)
            tt = tick[m]
            Bi[0, tt] += w
            if use_k:
                Bi[kk, tt] += w * nb[m, i]
            for p in range(act_ptr[m], act_ptr[m + 1]):
                Bi[1 + act_idx[p], tt] += w
        if exclude_self:
            Bi[1 + i, :] = 0.0


def _total_objective(rows, theta, u, exclude_self, use_k, lam_b, lam_k, lam_u):
    H = newton._all_fields(rows.act_ptr, rows.act_idx, rows.neighbours, u[rows.tick], theta,
                           exclude_self, use_k)
    a = np.abs(H)
    ll = float(np.sum(rows.counts[:, None] * (rows.response * H - a - np.log1p(np.exp(-2 * a)))))
    n = theta.shape[0]
    pen = lam_b * np.sum(theta[:, 1:n + 1] ** 2) + lam_k * np.sum(theta[:, n + 1] ** 2)
    return ll - 0.5 * pen - 0.5 * lam_u * float(u @ u), H


def solve_with_drive(rows, theta, u, exclude_self, use_k, lam_b, lam_k, lam_u, *, max_iter=50,
                     tol=1e-8, tol_step=1e-3):
    """Joint Newton on all neurons and the drive; theta (N, P) and u (T,) updated in place.

    Returns
    -------
    iterations : int
    converged : bool
    variances : numpy.ndarray, float64, shape (N, P)
        Diagonal of each neuron's A_i^-1 (conditional on u), for standard errors.
    """
    n, P = theta.shape
    T = u.size
    if exclude_self:
        theta[np.arange(n), 1 + np.arange(n)] = 0.0
    if not use_k:
        theta[:, P - 1] = 0.0
    g = np.zeros((n, P))
    A = np.zeros((n, P, P))
    B = np.zeros((n, P, T))
    obj, H = _total_objective(rows, theta, u, exclude_self, use_k, lam_b, lam_k, lam_u)
    fixed = np.zeros((n, P), dtype=bool)
    if exclude_self:
        fixed[np.arange(n), 1 + np.arange(n)] = True
    if not use_k:
        fixed[:, P - 1] = True
    converged, it = False, 0
    chol = None
    while it < max_iter:
        _blocks(rows.act_ptr, rows.act_idx, rows.response, rows.neighbours, rows.counts,
                rows.tick, H, exclude_self, use_k, T, g, A, B)
        idx = np.arange(1, n + 1)
        g[:, idx] -= lam_b * theta[:, idx]
        A[:, idx, idx] += lam_b
        if use_k:
            g[:, P - 1] -= lam_k * theta[:, P - 1]
            A[:, P - 1, P - 1] += lam_k
        g[fixed] = 0.0
        B[fixed] = 0.0
        for i, f in zip(*np.nonzero(fixed), strict=True):
            A[i, f, :] = 0.0
            A[i, :, f] = 0.0
            A[i, f, f] = 1.0
        t_ = np.tanh(H)
        r = rows.counts * (rows.response - t_).sum(axis=1)
        w = rows.counts * (1.0 - t_ * t_).sum(axis=1)
        gu = np.bincount(rows.tick, weights=r, minlength=T) - lam_u * u
        D = np.bincount(rows.tick, weights=w, minlength=T) + lam_u
        chol = np.linalg.cholesky(A + 1e-12 * np.eye(P)[None])
        Ainv_g = np.linalg.solve(A, g[:, :, None])[:, :, 0]
        Ainv_B = np.linalg.solve(A, B)
        B2, AB2 = B.reshape(n * P, T), Ainv_B.reshape(n * P, T)
        S = np.diag(D) - B2.T @ AB2
        rhs = gu - B2.T @ Ainv_g.reshape(-1)
        du = np.linalg.solve(S, rhs)
        d = Ainv_g - (AB2 @ du).reshape(n, P)
        dec = float(np.sum(g * d) + gu @ du)
        if dec <= tol:
            converged = True
            break
        it += 1
        step, accepted = 1.0, False
        for _ in range(40):
            th_new, u_new = theta + step * d, u + step * du
            new, H_new = _total_objective(rows, th_new, u_new, exclude_self, use_k, lam_b,
                                          lam_k, lam_u)
            if math.isfinite(new) and new >= obj + 0.25 * step * dec:
                accepted = True
                break
            step *= 0.5
        if not accepted:
            break
        theta[:], u[:], obj, H = th_new, u_new, new, H_new
        if step == 1.0 and dec <= tol_step:
            converged = True
            break
    shift = u.mean()
    u -= shift
    theta[:, 0] += shift
    var = np.ones((n, P))
    if chol is not None:
        Linv = np.linalg.inv(chol)
        var = np.einsum("nij,nij->nj", Linv, Linv)
    return it, converged, var
