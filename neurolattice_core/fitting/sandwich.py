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


@njit(cache=True, nogil=True, parallel=True)
def _scores(act_ptr, act_idx, y, nb, counts, offsets, group, n_groups, theta, exclude_self,
            use_k, lam_b, lam_k):
    """Per-neuron matrix A (N, P, P) and group score sums S (N, G, P) at theta (N, P)."""
    n, P = theta.shape
    kk = P - 1
    M = counts.size
    A = np.zeros((n, P, P))
    S = np.zeros((n, n_groups, P))
    for i in prange(n):
        H = np.empty(M)
        r = np.empty(M)
        w = np.empty(M)
        g = np.empty(P)
        newton._fields(act_ptr, act_idx, nb, offsets, theta[i], i, use_k, H)
        newton._row_terms(H, y, counts, i, r, w)
        newton._accumulate(act_ptr, act_idx, nb, r, w, i, use_k, g, A[i])
        Si = S[i]
        for m in range(M):
            row = Si[group[m]]
            row[0] += r[m]
            for p in range(act_ptr[m], act_ptr[m + 1]):
                row[1 + act_idx[p]] += r[m]
            if use_k:
                row[kk] += r[m] * nb[m, i]
        for a in range(n):
            A[i, 1 + a, 1 + a] += lam_b
        if use_k:
            A[i, kk, kk] += lam_k
        for f in range(P):
            if (exclude_self and f == 1 + i) or (f == kk and not use_k):
                A[i, f, :] = 0.0
                A[i, :, f] = 0.0
                A[i, f, f] = 1.0
                for c in range(n_groups):
                    Si[c, f] = 0.0
    return A, S


def influences(data, model, theta, flip, offsets_u, lam_b, lam_k):
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
                   lam_b, lam_k)
    q = np.linalg.solve(A, S.transpose(0, 2, 1))          # (N, P, G)
    qJ = 0.5 * q[:, 1:n + 1, :] * flip[None, :, None]
    return qJ.transpose(2, 0, 1), q[:, n + 1, :].T


def standard_errors(influence):
    """sqrt(G/(G-1) sum_g (q_g - mean q)^2) over the first axis (groups)."""
    q = np.asarray(influence)
    G = q.shape[0]
    d = q - q.mean(axis=0)
    return np.sqrt(G / max(G - 1, 1) * np.sum(d * d, axis=0))
