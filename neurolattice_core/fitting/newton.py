"""Numba kernels of the pseudo-likelihood: one damped Newton solve per neuron, in parallel.

For neuron i the rows m of :class:`~neurolattice_core.fitting.data.Rows` give the local field

    H_m = o_m + b_0 + sum_{a in act(m), a != e} b_a + b_K n_mi

(``act(m)``: active covariate units of row m in the flipped 0/1 representation x_a; ``e`` = i
when the neuron's own spin is excluded (maxent, lft), none for kinetic; ``o_m`` a fixed offset
such as a drive u_t; ``n_mi`` the temporal-neighbour sum, lft only). The kernel maximises the
concave objective

    L(b) = sum_m c_m [y_mi H_m - log 2 cosh H_m] - (lam_b / 2) sum_a b_a^2 - (lam_K / 2) b_K^2

(c_m row counts, y_mi the response spin) with Newton's method: gradient
g = sum_m c_m (y - tanh H) x_m, Hessian -sum_m c_m (1 - tanh^2 H) x_m x_m^T - penalty, solved by
Cholesky, with Armijo backtracking. Because x is 0/1 and mostly zero, the Hessian costs
sum_m |act(m)|^2 / 2 additions per iteration instead of M P^2. Parameter layout of ``theta``
(float64 (N, P), P = N + 2): [b_0, b_1 .. b_N (unit a at column 1 + a), b_K].
Stopping rule, in terms of the Newton decrement dec = g.A^-1.g (the squared length of the
Newton step in the metric of the observed Fisher information, i.e. in units of statistical
standard errors): converged when dec <= ``tol`` before a step, or right after a full step with
dec <= ``tol_step`` (Newton converges quadratically: the next decrement is O(dec^2)).
"""

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, inline="always")
def _log2cosh(h):
    a = abs(h)
    return a + math.log1p(math.exp(-2.0 * a))


@njit(cache=True, nogil=True)
def _cholesky_solve(A, g, d):
    """Solve A d = g for symmetric positive definite A (overwritten by L); False if not SPD."""
    p = A.shape[0]
    for j in range(p):
        s = A[j, j]
        for k in range(j):
            s -= A[j, k] * A[j, k]
        if not s > 0.0:
            return False
        ljj = math.sqrt(s)
        A[j, j] = ljj
        for r in range(j + 1, p):
            s = A[r, j]
            for k in range(j):
                s -= A[r, k] * A[j, k]
            A[r, j] = s / ljj
    for r in range(p):                      # L z = g
        s = g[r]
        for k in range(r):
            s -= A[r, k] * d[k]
        d[r] = s / A[r, r]
    for r in range(p - 1, -1, -1):          # L^T d = z
        s = d[r]
        for k in range(r + 1, p):
            s -= A[k, r] * d[k]
        d[r] = s / A[r, r]
    return True


@njit(cache=True, nogil=True)
def _inverse_diagonal(L, out):
    """diag((L L^T)^-1) from a Cholesky factor L (lower triangle of ``L``), into out (P,)."""
    p = L.shape[0]
    z = np.empty(p)
    for k in range(p):
        total = 0.0
        for r in range(k, p):               # z = L^-1 e_k is zero above row k
            s = 1.0 if r == k else 0.0
            for c in range(k, r):
                s -= L[r, c] * z[c]
            z[r] = s / L[r, r]
            total += z[r] * z[r]
        out[k] = total


@njit(cache=True, nogil=True)
def _fields(act_ptr, act_idx, nb, offsets, th, i, use_k, out):
    """out[m] = H_m of neuron i for parameters th (P,) (an excluded unit has th = 0)."""
    kk = th.size - 1
    for m in range(out.size):
        h = offsets[m] + th[0]
        for p in range(act_ptr[m], act_ptr[m + 1]):
            h += th[1 + act_idx[p]]
        if use_k:
            h += th[kk] * nb[m, i]
        out[m] = h


@njit(cache=True, nogil=True)
def _objective(H, y, counts, i, th, excl, lam_b, lam_k, use_k):
    total = 0.0
    for m in range(H.size):
        total += counts[m] * (y[m, i] * H[m] - _log2cosh(H[m]))
    pen = 0.0
    n = th.size - 2
    for a in range(n):
        if a != excl:
            pen += th[1 + a] * th[1 + a]
    total -= 0.5 * lam_b * pen
    if use_k:
        total -= 0.5 * lam_k * th[n + 1] * th[n + 1]
    return total


@njit(cache=True, nogil=True)
def _gradient_hessian(act_ptr, act_idx, y, nb, counts, H, i, use_k, g, A):
    """Data part of the gradient g (P,) and of minus the Hessian A (P, P).

    The excluded unit (if any) is not skipped here: the caller fixes its parameter by zeroing
    its row, column and gradient entry.
    """
    n = g.size - 2
    kk = n + 1
    g[:] = 0.0
    A[:, :] = 0.0
    for m in range(H.size):
        c = counts[m]
        t = math.tanh(H[m])
        r = c * (y[m, i] - t)
        w = c * (1.0 - t * t)
        g[0] += r
        A[0, 0] += w
        nbv = 0.0
        if use_k:
            nbv = nb[m, i]
            g[kk] += r * nbv
            A[kk, kk] += w * nbv * nbv
            A[0, kk] += w * nbv
        e = act_ptr[m + 1]
        for p in range(act_ptr[m], e):
            ra = 1 + act_idx[p]
            g[ra] += r
            A[ra, ra] += w
            if use_k:
                A[ra, kk] += w * nbv
            for q in range(p + 1, e):
                A[ra, 1 + act_idx[q]] += w
    for a in range(n):                      # bias-unit block: sum_m w x_a = A[a, a]
        A[0, 1 + a] = A[1 + a, 1 + a]
    for r_ in range(A.shape[0]):
        for c_ in range(r_ + 1, A.shape[0]):
            A[c_, r_] = A[r_, c_]


@njit(cache=True, nogil=True)
def _newton_one(act_ptr, act_idx, y, nb, counts, offsets, i, excl, use_k, lam_b, lam_k, th,
                max_iter, tol, tol_step, var):
    """Newton solve for neuron i in place on th (P,); return (iterations, converged, L).

    ``var`` (P,) receives the diagonal of the inverse of minus the Hessian at the last
    factorised point: the asymptotic variances of the parameters (1 for fixed ones).
    """
    P = th.size
    n = P - 2
    kk = n + 1
    M = counts.size
    H = np.empty(M)
    dH = np.empty(M)
    Hn = np.empty(M)
    g = np.empty(P)
    A = np.empty((P, P))
    d = np.empty(P)
    zero = np.zeros(M)
    B = np.eye(P)
    if excl >= 0:
        th[1 + excl] = 0.0
    if not use_k:
        th[kk] = 0.0
    _fields(act_ptr, act_idx, nb, offsets, th, i, use_k, H)
    obj = _objective(H, y, counts, i, th, excl, lam_b, lam_k, use_k)
    converged = False
    it = 0
    while it < max_iter:
        _gradient_hessian(act_ptr, act_idx, y, nb, counts, H, i, use_k, g, A)
        for a in range(n):
            g[1 + a] -= lam_b * th[1 + a]
            A[1 + a, 1 + a] += lam_b
        if use_k:
            g[kk] -= lam_k * th[kk]
            A[kk, kk] += lam_k
        fixed_e = excl >= 0
        for f in range(P):
            if (fixed_e and f == 1 + excl) or (f == kk and not use_k):
                g[f] = 0.0
                A[f, :] = 0.0
                A[:, f] = 0.0
                A[f, f] = 1.0
        jitter = 0.0
        B = A.copy()
        while not _cholesky_solve(B, g, d):
            jitter = 1e-10 * (1.0 + A[0, 0]) if jitter == 0.0 else jitter * 100.0
            B = A.copy()
            for f in range(P):
                B[f, f] += jitter
        dec = 0.0
        for f in range(P):
            dec += g[f] * d[f]
        if dec <= tol:
            converged = True
            break
        it += 1
        _fields(act_ptr, act_idx, nb, zero, d, i, use_k, dH)
        step = 1.0
        accepted = False
        for _ in range(40):
            for m in range(M):
                Hn[m] = H[m] + step * dH[m]
            thn = th + step * d
            new = _objective(Hn, y, counts, i, thn, excl, lam_b, lam_k, use_k)
            if new >= obj + 0.25 * step * dec and math.isfinite(new):
                accepted = True
                break
            step *= 0.5
        if not accepted:
            break
        th[:] = thn
        H[:] = Hn
        obj = new
        if step == 1.0 and dec <= tol_step:
            converged = True      # quadratic convergence: the next decrement is O(dec^2)
            break
    _inverse_diagonal(B, var)
    return it, converged, obj


@njit(cache=True, nogil=True, parallel=True)
def _newton_neurons(act_ptr, act_idx, y, nb, counts, offsets, exclude_self, use_k, lam_b, lam_k,
                    theta, max_iter, tol, tol_step, iters, converged, objective, variances):
    """Solve every neuron's problem in parallel (prange over neurons); theta updated in place.

    ``variances`` (N, P) receives each neuron's parameter variances (see :func:`_newton_one`).
    """
    n = theta.shape[0]
    for i in prange(n):
        excl = np.int64(-1)
        if exclude_self:
            excl = np.int64(i)
        th = theta[i].copy()
        it, ok, obj = _newton_one(act_ptr, act_idx, y, nb, counts, offsets, i, excl, use_k,
                                  lam_b, lam_k, th, max_iter, tol, tol_step, variances[i])
        theta[i, :] = th
        iters[i] = it
        converged[i] = ok
        objective[i] = obj


@njit(cache=True, nogil=True, parallel=True)
def _all_fields(act_ptr, act_idx, nb, offsets, theta, exclude_self, use_k):
    """H[m, i] for every row and neuron, float64 (M, N); prange over rows."""
    n = theta.shape[0]
    M = act_ptr.size - 1
    kk = theta.shape[1] - 1
    out = np.empty((M, n))
    for m in prange(M):
        for i in range(n):
            h = offsets[m] + theta[i, 0]
            for p in range(act_ptr[m], act_ptr[m + 1]):
                a = act_idx[p]
                if not (exclude_self and a == i):
                    h += theta[i, 1 + a]
            if use_k:
                h += theta[i, kk] * nb[m, i]
            out[m, i] = h
    return out


@njit(cache=True, nogil=True, parallel=True)
def _row_loglik(H, y, counts):
    """Per-neuron sum_m c_m [y H - log 2 cosh H], float64 (N,)."""
    M, n = H.shape
    out = np.zeros(n)
    for i in prange(n):
        s = 0.0
        for m in range(M):
            s += counts[m] * (y[m, i] * H[m, i] - _log2cosh(H[m, i]))
        out[i] = s
    return out
