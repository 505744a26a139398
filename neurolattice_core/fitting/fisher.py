"""Data Fisher matrix in lattice-gas coordinates: the preconditioner of Boltzmann learning.

With psi = (1 + s) / 2 the maxent / lft action is linear in the lattice-gas parameters
theta_gas = (b_i, W_ij (i < j), Kpsi_i) (MODEL.md section 2: W = 4 J, Kpsi = 4 K,
h_i = b_i / 2 + sum_j J_ij + 2 K_i in the bulk) with per-tick features

    phi_t = (psi_it, psi_it psi_jt (i < j), psi_it psi_i,t+1).

The Fisher matrix of a per-tick model is Cov(phi); its data estimate F (computed once, from the
training patterns, merged with counts) preconditions the likelihood gradient: the step
d theta_gas = eta (F + r I)^-1 (<phi>_data - <phi>_model - penalty) is Newton's step when the
model is close to the data (Ferrari, PRE 94, 023301 (2016), "data-driven" learning). For
sparse firing phi is sparse, so F costs sum over distinct patterns of (number of active
features)^2 additions. Feature order: singles 0..N-1, pairs in ``np.triu_indices(N, 1)`` order,
then (lft) temporal pairs.
"""

import numpy as np
from numba import njit

from ..errors import FitError

__all__ = ["GasPreconditioner", "MAX_FISHER_FEATURES"]

MAX_FISHER_FEATURES = 6000
"""Largest number of features (N + N(N-1)/2 [+ N]) for the full Fisher matrix (N ~ 100)."""


@njit(cache=True, nogil=True)
def _fisher_accumulate(act_ptr, act_idx, t_ptr, t_idx, counts, n, n_features):
    """sum_m c_m phi_m and sum_m c_m phi_m phi_m^T for sparse 0/1 feature vectors phi_m."""
    mean = np.zeros(n_features)
    second = np.zeros((n_features, n_features))
    feats = np.empty(n_features, dtype=np.int64)
    npair = n * (n - 1) // 2
    for m in range(counts.size):
        c = counts[m]
        k = 0
        s, e = act_ptr[m], act_ptr[m + 1]
        for p in range(s, e):
            a = act_idx[p]
            feats[k] = a
            k += 1
            for q in range(p + 1, e):
                b = act_idx[q]
                feats[k] = n + a * n - a * (a + 1) // 2 + (b - a - 1)
                k += 1
        for p in range(t_ptr[m], t_ptr[m + 1]):
            feats[k] = n + npair + t_idx[p]
            k += 1
        for x in range(k):
            fx = feats[x]
            mean[fx] += c
            for y in range(k):
                second[fx, feats[y]] += c
    return mean, second


def _csr(mask):
    ptr = np.zeros(mask.shape[0] + 1, dtype=np.int64)
    np.cumsum(mask.sum(axis=1), out=ptr[1:])
    return ptr, np.nonzero(mask)[1].astype(np.int64)


class GasPreconditioner:
    """Factorised data Fisher matrix and the preconditioned step of Boltzmann learning.

    Parameters
    ----------
    spins : numpy.ndarray, int8, shape (R, N, T)
        Training data.
    model : {"maxent", "lft"}
    ridge : float
        Added to the diagonal of F (plus the L2 strength), keeps rare features finite.
    """

    def __init__(self, spins, model, ridge=1e-4):
        r, n, t = spins.shape
        temporal = model == "lft"
        n_features = n + n * (n - 1) // 2 + (n if temporal else 0)
        if n_features > MAX_FISHER_FEATURES:
            raise FitError(f"the Fisher preconditioner needs {n_features} features (N = {n}); "
                           f"at most {MAX_FISHER_FEATURES} are supported")
        psi = spins > 0
        x = psi.transpose(0, 2, 1).reshape(-1, n)
        tp = np.zeros_like(psi)
        if temporal and t > 1:
            tp[:, :, :-1] = psi[:, :, :-1] & psi[:, :, 1:]
        tx = tp.transpose(0, 2, 1).reshape(-1, n)
        key = np.packbits(np.concatenate([x, tx], axis=1), axis=1)
        view = np.ascontiguousarray(key).view(np.dtype((np.void, key.shape[1]))).ravel()
        _, first, counts = np.unique(view, return_index=True, return_counts=True)
        ap, ai = _csr(x[first])
        tp_, ti = _csr(tx[first])
        total, second = _fisher_accumulate(ap, ai, tp_, ti, counts.astype(np.float64), n,
                                           n_features)
        M = x.shape[0]
        mean = total / M
        F = second / M - np.outer(mean, mean)
        F[np.diag_indices(n_features)] += ridge
        self.n, self.temporal, self.ridge, self._F = n, temporal, ridge, F
        self._chol = None
        self._lam = None

    def _factor(self, lam):
        if self._chol is None or lam != self._lam:
            A = self._F.copy()
            pen = np.full(A.shape[0], lam / 16.0)
            pen[: self.n] = 0.0
            A[np.diag_indices(A.shape[0])] += pen
            self._chol = np.linalg.cholesky(A)
            self._lam = lam
        return self._chol

    def step(self, gas_data, gas_model, J, K, lam, eta, clip=0.5):
        """Preconditioned step, mapped to spin parameters and scaled so max |change| <= clip.

        Parameters
        ----------
        gas_data, gas_model : numpy.ndarray, float64, shape (n_features,)
            <phi> of the data and of the model.
        J : numpy.ndarray, float64, shape (N, N)
        K : numpy.ndarray, float64, shape (N,) or None
        lam : float
            Per-sample L2 strength on J and K (the penalty is lam/2 J^2 = lam/32 W^2).
        eta : float
            Learning rate.
        clip : float

        Returns
        -------
        dh, dJ, dK (None for maxent)
        """
        n = self.n
        iu = np.triu_indices(n, 1)
        pen = np.zeros_like(gas_data)
        pen[n:n + iu[0].size] = lam * 4.0 * J[iu] / 16.0
        if self.temporal:
            pen[n + iu[0].size:] = lam * 4.0 * K / 16.0
        g = gas_data - gas_model - pen
        L = self._factor(lam)
        d = eta * np.linalg.solve(L.T, np.linalg.solve(L, g))
        dJ = np.zeros((n, n))
        dJ[iu] = d[n:n + iu[0].size] / 4.0
        dJ = dJ + dJ.T
        dK = d[n + iu[0].size:] / 4.0 if self.temporal else None
        dh = d[:n] / 2.0 + dJ.sum(axis=1) + (2.0 * dK if self.temporal else 0.0)
        biggest = max(np.max(np.abs(dh)), np.max(np.abs(dJ)),
                      np.max(np.abs(dK)) if self.temporal else 0.0)
        scale = min(1.0, clip / biggest) if biggest > 0 else 1.0
        return dh * scale, dJ * scale, (dK * scale if self.temporal else None)


def gas_moments(f, n, model, drive):
    """Raw spin moments (see :func:`.boltzmann.moment_vector`) -> lattice-gas <phi>.

    <psi_i> = (1 + m_i)/2, <psi_i psi_j> = (1 + m_i + m_j + <s_i s_j>)/4 and
    <psi_i,t psi_i,t+1> = (1 + 2 m_i + <s_i,t s_i,t+1>)/4 (bulk approximation for the means).
    """
    npair = n * (n - 1) // 2
    iu = np.triu_indices(n, 1)
    m, c2 = f[:n], f[n:n + npair]
    parts = [0.5 * (1 + m), 0.25 * (1 + m[iu[0]] + m[iu[1]] + c2)]
    if model == "lft":
        parts.append(0.25 * (1 + 2 * m + f[n + npair:n + npair + n]))
    return np.concatenate(parts)
