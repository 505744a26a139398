"""The kernel of the magnetisations, its averages, spectra, W1 distances and SVD.

The kernel ``m_it = mean_r s_rit`` (MODEL.md section 4) is the trial-averaged spin of neuron i
at tick t; ``p_it = (1 + m_it) / 2`` is the spike probability per bin. Its row averages
``mu_i = mean_t m_it`` (one per neuron) and column averages ``nu_t = mean_i m_it`` (one per
tick) are summarised by their sorted values ("spectra", i.e. empirical quantile functions) and
compared with the 1-D Wasserstein distance W1.
"""

from typing import NamedTuple

import numpy as np

from neurolattice_core.errors import ParameterError
from neurolattice_core.observables.spins import validate_spins

__all__ = [
    "kernel",
    "spike_probability",
    "row_averages",
    "column_averages",
    "spectrum",
    "wasserstein1",
    "KernelSVD",
    "kernel_svd",
]


def kernel(spins):
    """Kernel of the magnetisations ``m_it = mean_r s_rit``.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1 (replicas or trials).

    Returns
    -------
    numpy.ndarray, shape (N, T), float64
        Values in [-1, 1].
    """
    s = validate_spins(spins)
    return s.mean(axis=0, dtype=np.float64)


def spike_probability(spins):
    """Spike probability per bin ``p_it = (1 + m_it) / 2``, shape (N, T), float64."""
    return 0.5 * (1.0 + kernel(spins))


def _as_kernel(m, name="m"):
    a = np.asarray(m, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        raise ParameterError(f"{name} must be a non-empty (N, T) kernel; got shape {np.shape(m)}")
    if not np.all(np.isfinite(a)):
        raise ParameterError(f"{name} holds NaN or infinite values")
    return a


def row_averages(m):
    """Per-neuron time averages ``mu_i = mean_t m_it``.

    Parameters
    ----------
    m : array_like, shape (N, T)
        Kernel.

    Returns
    -------
    numpy.ndarray, shape (N,), float64
    """
    return _as_kernel(m).mean(axis=1)


def column_averages(m):
    """Per-tick neuron averages ``nu_t = mean_i m_it``.

    Parameters
    ----------
    m : array_like, shape (N, T)
        Kernel.

    Returns
    -------
    numpy.ndarray, shape (T,), float64
    """
    return _as_kernel(m).mean(axis=0)


def spectrum(values):
    """Sorted values (the empirical quantile function) of any array, flattened.

    Parameters
    ----------
    values : array_like
        For example ``mu_i``, ``nu_t`` or the whole kernel.

    Returns
    -------
    numpy.ndarray, shape (values.size,), float64
        Ascending. ``spectrum(v)[k]`` is the quantile at level ``(k + 1/2) / size``.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise ParameterError("spectrum needs a non-empty array of finite values")
    return np.sort(v)


def wasserstein1(a, b):
    """1-D Wasserstein (earth mover's) distance between two empirical distributions.

    ``W1 = integral_0^1 |F_a^-1(u) - F_b^-1(u)| du``. For equal sizes this is the mean
    absolute difference of the sorted values; for unequal sizes the exact value from the two
    quantile functions (``scipy.stats.wasserstein_distance``). Order and permutation of the
    inputs do not matter; ``W1(a, a + c) = |c|``.

    Parameters
    ----------
    a, b : array_like
        Samples (flattened), each non-empty and finite.

    Returns
    -------
    float
        In the units of the samples.
    """
    x, y = spectrum(a), spectrum(b)
    if x.size == y.size:
        return float(np.mean(np.abs(x - y)))
    from scipy import stats  # 0.3 s to import: only unequal sizes need it (dashboard start-up)

    return float(stats.wasserstein_distance(x, y))


class KernelSVD(NamedTuple):
    """Singular value decomposition of a kernel ``m = U diag(s) Vt`` and its PCA spectra.

    Attributes
    ----------
    singular_values : numpy.ndarray, shape (min(N, T),)
        ``s_k``, descending.
    neuron_pca_eigenvalues : numpy.ndarray, shape (min(N, T),)
        ``s_k**2 / T``: the non-zero eigenvalues of the (N, N) matrix ``m m^T / T``.
    time_pca_eigenvalues : numpy.ndarray, shape (min(N, T),)
        ``s_k**2 / N``: the non-zero eigenvalues of the (T, T) matrix ``m^T m / N``.
    neuron_modes : numpy.ndarray, shape (N, min(N, T))
        ``U``, columns are neuron-space modes.
    time_modes : numpy.ndarray, shape (min(N, T), T)
        ``Vt``, rows are the temporal profiles of the modes.
    """

    singular_values: np.ndarray
    neuron_pca_eigenvalues: np.ndarray
    time_pca_eigenvalues: np.ndarray
    neuron_modes: np.ndarray
    time_modes: np.ndarray


def kernel_svd(m, center=False):
    """SVD of the kernel; PCA is its quadratic (Gaussian) sub-case (MODEL.md section 4).

    Parameters
    ----------
    m : array_like, shape (N, T)
        Kernel ``m_it``.
    center : bool
        False (MODEL.md): decompose ``m`` itself. True: subtract the row averages ``mu_i`` first,
        so ``m m^T / T`` is the signal covariance of the neurons across time.

    Returns
    -------
    KernelSVD
    """
    a = _as_kernel(m)
    if center:
        a = a - a.mean(axis=1, keepdims=True)
    n, t = a.shape
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return KernelSVD(s, s**2 / t, s**2 / n, u, vt)
