"""Draw configurations from fitted models, for validation and Boltzmann learning.

- :func:`sample_lattice`: the lft / maxent action on R replicas of an N x T lattice with open
  time (MODEL.md section 2, theta = 1), sampled by the engine's general kernel
  :func:`neurolattice_core.kernels.local.local_sweeps` (heat bath, dense J).
- :func:`sample_kinetic`: forward simulation of the kinetic Ising chain
  P(s_t+1 | s_t) = prod_i exp(s_i,t+1 theta_i) / (2 cosh theta_i), theta_i = h_i + sum_j J_ij s_jt.
- :func:`sample_maxent_exact`: independent draws from the enumerated static distribution
  (N <= 20).

All random numbers come from the counter-based streams of :mod:`neurolattice_core.kernels.rng`,
so results depend only on the seed.
"""

import numpy as np

from ..errors import FitError
from ..kernels.rng import random_words, stream_key

__all__ = ["sample_lattice", "sample_kinetic", "sample_maxent_exact", "uniforms"]

_PURPOSE_INIT = 0xF17A
_PURPOSE_KINETIC = 0xF17B
_PURPOSE_EXACT = 0xF17C


def uniforms(seed, purpose, size):
    """``size`` uniforms in [0, 1) (float64) from stream ``stream_key(seed, purpose)``."""
    words = random_words(stream_key(seed, purpose), int(np.prod(size)))
    return ((words >> np.uint64(11)).astype(np.float64) * 2.0**-53).reshape(size)


def _independent_start(h, shape, seed):
    """Spins drawn independently with P(s_i = +1) = (1 + tanh h_i) / 2, int8 ``shape``."""
    p_up = 0.5 * (1.0 + np.tanh(h))
    u = uniforms(seed, _PURPOSE_INIT, shape)
    return np.where(u < p_up[None, :, None], 1, -1).astype(np.int8)


def sample_lattice(h, J, K=None, *, n_ticks, n_replicas, u=None, burn_in=200, n_snapshots=1,
                   spacing=20, seed=0, spins=None, sweep_offset=0):
    """Sample the space-time action with open time (heat bath on the engine's general path).

    Parameters
    ----------
    h : numpy.ndarray, float64, shape (N,)
        Fields h_i.
    J : numpy.ndarray, float64, shape (N, N)
        Symmetric equal-time couplings, zero diagonal.
    K : numpy.ndarray, float64, shape (N,), optional
        Temporal couplings (0 = independent time slices, the maxent model).
    n_ticks : int
        T, ticks per replica (open ends).
    n_replicas : int
        R, independent chains (seeded ``stream_key(seed, r)``).
    u : numpy.ndarray, float64, shape (T,), optional
        Common drive added to every field.
    burn_in : int
        Sweeps before the first snapshot.
    n_snapshots : int
        Configurations kept per replica.
    spacing : int
        Sweeps between snapshots.
    seed : int
    spins : numpy.ndarray, int8, shape (R, N, T), optional
        Start configuration (continued chains); default independent draws from h.
    sweep_offset : int
        Sweeps already run on these chains (continues the random streams).

    Returns
    -------
    samples : numpy.ndarray, int8, shape (R * n_snapshots, N, T)
        Snapshot k of replica r at index k * R + r.
    state : numpy.ndarray, int8, shape (R, N, T)
        The chains after the last sweep (to continue them).
    sweeps : int
        sweep_offset plus the sweeps run.
    """
    from ..kernels.local import local_sweeps

    h = np.asarray(h, dtype=np.float64)
    n = h.size
    J = np.ascontiguousarray(J, dtype=np.float64)
    J = 0.5 * (J + J.T)
    np.fill_diagonal(J, 0.0)
    K = np.zeros(n) if K is None else np.asarray(K, dtype=np.float64)
    T, R = int(n_ticks), int(n_replicas)
    if T < 1 or R < 1 or n_snapshots < 1:
        raise FitError("sampling needs n_ticks, n_replicas and n_snapshots >= 1")
    fields = np.repeat(h[:, None], T, axis=1)
    if u is not None:
        fields = fields + np.asarray(u, dtype=np.float64)[None, :T]
    fields = np.ascontiguousarray(fields)
    if spins is None:
        spins = _independent_start(h, (R, n, T), seed)
    else:
        spins = np.array(spins, dtype=np.int8, order="C")
    keys = np.array([stream_key(seed, r) for r in range(R)], dtype=np.uint64)
    betas = np.ones(R)
    done = int(sweep_offset)

    def run(n_sweeps):
        nonlocal done
        if n_sweeps > 0:
            local_sweeps(spins, kind="dense", K=K, fields=fields, betas=betas,
                         time_periodic=False, method="heatbath", n_sweeps=int(n_sweeps),
                         keys=keys, sweep_offset=done, J_dense=J)
            done += int(n_sweeps)

    run(burn_in)
    out = np.empty((n_snapshots * R, n, T), dtype=np.int8)
    for k in range(n_snapshots):
        if k:
            run(spacing)
        out[k * R:(k + 1) * R] = spins
    return out, spins, done


def sample_kinetic(h, J, *, n_ticks, n_trials, burn_in=100, seed=0):
    """Forward simulation of the kinetic Ising model (parallel update of all units).

    Parameters
    ----------
    h : numpy.ndarray, float64, shape (N,)
    J : numpy.ndarray, float64, shape (N, N)
        J[i, j]: influence of s_j at t on s_i at t + 1 (asymmetric, diagonal allowed).
    n_ticks, n_trials : int
        T ticks kept per trial, R trials (independent chains).
    burn_in : int
        Steps discarded before the kept ticks (from an independent start).
    seed : int

    Returns
    -------
    numpy.ndarray, int8, shape (R, N, T)
    """
    h = np.asarray(h, dtype=np.float64)
    J = np.asarray(J, dtype=np.float64)
    n, T, R = h.size, int(n_ticks), int(n_trials)
    total = int(burn_in) + T
    u = uniforms(seed, _PURPOSE_KINETIC, (total, R, n))
    s = np.where(u[0] < 0.5 * (1.0 + np.tanh(h))[None, :], 1.0, -1.0)
    out = np.empty((R, n, T), dtype=np.int8)
    for step in range(1, total + 1):
        if step - 1 >= burn_in:
            out[:, :, step - 1 - burn_in] = s
        if step == total:
            break
        theta = h[None, :] + s @ J.T
        s = np.where(u[step] < 0.5 * (1.0 + np.tanh(theta)), 1.0, -1.0)
    return out


def sample_maxent_exact(h, J, n_samples, seed=0):
    """Independent exact draws from the static pairwise model (enumeration, N <= 20).

    Returns
    -------
    numpy.ndarray, int8, shape (n_samples, N)
    """
    from .exact import maxent_distribution

    patterns, p = maxent_distribution(h, J)
    cdf = np.cumsum(p)
    idx = np.searchsorted(cdf, uniforms(seed, _PURPOSE_EXACT, int(n_samples)) * cdf[-1],
                          side="right")
    return patterns[np.minimum(idx, p.size - 1)]
