"""Standard errors of pseudo-likelihood fits by the clustered sandwich (Godambe) estimator.

The inverse Hessian of a pseudo-likelihood is not the covariance of its estimator: the terms
log P(s_it | rest) of neighbouring ticks share spins (for lft, s_i,t+1 is a covariate of tick t
and the response of tick t + 1), so their scores are correlated, and the two estimates of J_ij
(from neuron i and from neuron j) come from the same samples. The sandwich estimator is

    Cov(theta_i) = A_i^-1 V_i A_i^-1,   V_i = G/(G-1) sum_g (S_ig - mean_g S_ig)(...)^T

with A_i minus the Hessian of neuron i's penalised objective at its optimum and S_ig the sum
of its score contributions c_m (y_mi - tanh H_mi) x_m over the rows of group g. Written as
influences q_ig = A_i^-1 S_ig (the first-order change of theta_i when group g is removed, an
infinitesimal jackknife), the covariance of *any* linear combination of the fitted parameters
follows from the same q, e.g. the precision-weighted symmetrised J_ij = w J_ij^(i) + w' J_ji^(j)
has influence w q_ig[j] + w' q_jg[i], which carries the covariance of the two estimates.

Groups (clusters) must be nearly independent: whole trials when there are at least
``MIN_GROUPS`` of them (trials of a recording are independent draws), otherwise contiguous time
blocks of equal length within each trial (correlations across a block boundary are neglected;
they are small when the blocks are much longer than the correlation time). With a drive u_t
the errors are conditional on the fitted drive.

Calibration (tests/core/test_fit_uncertainty.py, 100 independent synthetic datasets of 2,000
samples): spread^2 / se^2 = 0.94 and 0.98 for K (lft; 40 trials, one long trial), 1.03 for
J (lft) and 1.00 for J (maxent), against 1.63-1.74 for the inverse Hessian of K. The errors
are asymptotic: a coupling of a pair co-active only a handful of times has a skewed estimate
whose spread exceeds its se.
"""

import numpy as np
from numba import njit, prange

from ..errors import FitError
from . import newton
from .data import build_rows

__all__ = ["MIN_GROUPS", "sample_groups", "influences", "standard_errors"]

MIN_GROUPS = 50
"""Smallest number of clusters; fewer trials are cut into time blocks."""


def sample_groups(n_trials, n_ticks, min_groups=MIN_GROUPS):
    """Cluster label of every (trial, tick) sample, int64 (R, T).

    Trials are clusters when ``n_trials >= min_groups``; otherwise each trial is cut into
    ``ceil(min_groups / n_trials)`` contiguous blocks (at most ``n_ticks // 5``, at least 1).
    """
    if n_trials >= min_groups:
        return np.repeat(np.arange(n_trials)[:, None], n_ticks, axis=1)
    blocks = int(max(1, min(-(-min_groups // n_trials), n_ticks // 5)))
    within = np.minimum(np.arange(n_ticks) * blocks // n_ticks, blocks - 1)
    return np.arange(n_trials)[:, None] * blocks + within[None, :]


@njit(cache=True, nogil=True)
def _scores_block(act_ptr, act_idx, y, nb, counts, offsets, group, n_groups, theta, i0, nblk,
                  exclude_self, use_k, lam_b, lam_k, A, S):
    """A and S (see :func:`_scores`) of neurons i0 .. i0 + nblk - 1, sharing row passes."""
    P = theta.shape[1]
    kk = P - 1
    n = P - 2
    M = counts.size
    rT = np.empty((M, nblk))
    wT = np.empty((M, nblk))
    H = np.empty(M)
    r = np.empty(M)
    w = np.empty(M)
    for b in range(nblk):
        newton._fields(act_ptr, act_idx, nb, offsets, theta[i0 + b], i0 + b, use_k, H)
        newton._row_terms(H, y, counts, i0 + b, r, w)
        rT[:, b] = r
        wT[:, b] = w
    G = np.empty((P, nblk))
    A2 = np.empty((P * P, nblk))
    newton._accumulate_block(act_ptr, act_idx, nb, rT, wT, i0, use_k, G, A2)
    Sb = np.zeros((n_groups, P, nblk))
    for m in range(M):
        Sg = Sb[group[m]]
        for b in range(nblk):
            Sg[0, b] += rT[m, b]
        for p in range(act_ptr[m], act_ptr[m + 1]):
            row = Sg[1 + act_idx[p]]
            for b in range(nblk):
                row[b] += rT[m, b]
        if use_k:
            for b in range(nblk):
                Sg[kk, b] += rT[m, b] * nb[m, i0 + b]
    for b in range(nblk):
        i = i0 + b
        Ai = A[i]
        for u_ in range(P):
            for v_ in range(u_, P):
                Ai[u_, v_] = A2[u_ * P + v_, b]
        for a in range(n):                   # bias-unit block: sum_m w x_a = A[a, a]
            Ai[0, 1 + a] = Ai[1 + a, 1 + a]
        for u_ in range(P):
            for v_ in range(u_ + 1, P):
                Ai[v_, u_] = Ai[u_, v_]
        for a in range(n):
            Ai[1 + a, 1 + a] += lam_b
        if use_k:
            Ai[kk, kk] += lam_k
        for c in range(n_groups):
            for f in range(P):
                S[i, c, f] = Sb[c, f, b]
        for f in range(P):
            if (exclude_self and f == 1 + i) or (f == kk and not use_k):
                Ai[f, :] = 0.0
                Ai[:, f] = 0.0
                Ai[f, f] = 1.0
                for c in range(n_groups):
                    S[i, c, f] = 0.0


@njit(cache=True, nogil=True, parallel=True)
def _scores(act_ptr, act_idx, y, nb, counts, offsets, group, n_groups, theta, exclude_self,
            use_k, lam_b, lam_k, block):
    """Per-neuron matrix A (N, P, P) and group score sums S (N, G, P) at theta (N, P).

    A is minus the Hessian of each neuron's penalised objective (the excluded own unit and an
    unused K are fixed: unit row and column, zero scores). Blocks of ``block`` neurons share
    their passes over the rows (as in :mod:`.newton`) and run in parallel.
    """
    n, P = theta.shape
    A = np.zeros((n, P, P))
    S = np.zeros((n, n_groups, P))
    n_blocks = (n + block - 1) // block
    for k in prange(n_blocks):
        i0 = k * block
        _scores_block(act_ptr, act_idx, y, nb, counts, offsets, group, n_groups, theta, i0,
                      min(block, n - i0), exclude_self, use_k, lam_b, lam_k, A, S)
    return A, S


def influences(data, model, theta, flip, offsets_u, lam_b, lam_k, block=8):
    """Group influences on the per-neuron pseudo-likelihood estimates, in spin parameters.

    Parameters
    ----------
    data : FitData
        The training data of the fit.
    model : {"maxent", "lft", "kinetic"}
    theta : numpy.ndarray, float64, shape (N, N + 2)
        Per-neuron optimum in the kernel's flipped parameterisation (:mod:`.newton`), before
        any symmetrisation.
    flip : numpy.ndarray, float64, shape (N,)
        Flip of each covariate unit (must be the one of ``theta``).
    offsets_u : numpy.ndarray, float64, shape (T,) or None
        Fitted drive u_t (held fixed), if any.
    lam_b, lam_k : float
        Penalty strengths of the kernel's parameters (as passed to :mod:`.newton`).
    block : int
        Neurons per parallel block (results do not depend on it).

    Returns
    -------
    qJ : numpy.ndarray, float64, shape (G, N, N)
        Influence of group g on J_ia as estimated by neuron i (row i).
    qK : numpy.ndarray, float64, shape (G, N)
        Influence on K_i (lft) or on the self term (zeros for maxent).
    """
    r, n, t = data.spins.shape
    labels = sample_groups(r, t)
    n_groups = int(labels.max()) + 1
    if model == "kinetic":
        labels = labels[:, 1:]
    rows = build_rows(data, model, drive=offsets_u is not None, merge=True,
                      groups=labels.ravel())
    offsets = (np.zeros(rows.n_rows) if offsets_u is None
               else np.asarray(offsets_u, dtype=np.float64)[rows.tick])
    if not np.array_equal(rows.flip.astype(np.float64), flip):
        raise FitError("internal: the rows' flips differ from the fit's")
    A, S = _scores(rows.act_ptr, rows.act_idx, rows.response, rows.neighbours, rows.counts,
                   offsets, rows.group, n_groups, theta, model != "kinetic", model == "lft",
                   lam_b, lam_k, int(block))
    q = np.linalg.solve(A, S.transpose(0, 2, 1))          # (N, P, G)
    qJ = 0.5 * q[:, 1:n + 1, :] * flip[None, :, None]
    return qJ.transpose(2, 0, 1), q[:, n + 1, :].T


def standard_errors(influence):
    """sqrt(G/(G-1) sum_g (q_g - mean q)^2) over the first axis (groups)."""
    q = np.asarray(influence)
    G = q.shape[0]
    d = q - q.mean(axis=0)
    return np.sqrt(G / max(G - 1, 1) * np.sum(d * d, axis=0))
