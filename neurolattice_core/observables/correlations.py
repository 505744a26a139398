"""Connected correlation functions C(tau) along time and C(r) along the neuron axis.

Fluctuations ``d_rit = s_rit - c_rit`` are taken around one of three centres (``subtract``):

- ``"time"`` (default): the per-(replica, neuron) time mean ``mean_t s_rit``. Unbiased for a
  stationary, translation-invariant lattice up to ``O(1/T)`` (for independent ticks
  ``E C(tau >= 1) = -var / T``); it also removes each replica's own ordered magnetisation.
- ``"ensemble"``: the kernel ``m_it = mean_r s_rit`` (needs R >= 2): removes the stimulus-locked
  part and keeps trial-to-trial ("noise") fluctuations.
- ``"none"``: raw ``<s s'>``.

Averages run over all neurons, replicas and the pairs available on the lattice. Periodic
boundaries use circular FFT correlations; open boundaries use zero-padded FFTs, which give
exactly the direct sums over the available pairs (``T - tau`` per neuron), divided by their
number.
"""

import functools
import math

import numpy as np

from neurolattice_core.errors import FitError, ParameterError
from neurolattice_core.observables.spins import validate_spins

__all__ = [
    "temporal_correlation",
    "spatial_correlation",
    "second_moment_correlation_length",
    "exponential_correlation_length",
]

_CHUNK_ELEMENTS = 1 << 21  # float64 elements per replica chunk (16 MiB)


def _centred_chunks(spins, subtract):
    """Yield float64 fluctuation arrays (r, N, T) for consecutive replica chunks."""
    if subtract not in ("time", "ensemble", "none"):
        raise ParameterError(f"subtract must be 'time', 'ensemble' or 'none'; got {subtract!r}")
    r, n, t = spins.shape
    if subtract == "ensemble":
        if r < 2:
            raise ParameterError("subtract='ensemble' needs at least 2 replicas (the kernel)")
        centre = spins.mean(axis=0, dtype=np.float64)
    step = max(1, _CHUNK_ELEMENTS // (n * t))
    for start in range(0, r, step):
        d = spins[start : start + step].astype(np.float64)
        if subtract == "time":
            d -= d.mean(axis=2, keepdims=True)
        elif subtract == "ensemble":
            d -= centre
        yield d


@functools.lru_cache(maxsize=256)
def _fast_length(n):
    """The smallest 5-smooth integer 2**a 3**b 5**c >= n: a fast FFT length for zero padding.

    (numpy's FFT, not SciPy's: importing scipy.fft takes 0.15 s of the dashboard's start-up.)
    """
    best = 1 << max(n - 1, 0).bit_length()
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            length = power35 << max(math.ceil(math.log2(n / power35)), 0)
            best = min(best, length)
            power35 *= 3
        power5 *= 5
    return best


def _autocorrelation_sums(d, axis, periodic):
    """Sum d_x d_{x+k} over positions x along ``axis`` and over all other axes, k = 0..L-1.

    Periodic: x + k modulo L; open: only the available pairs (zero padding). The power spectra
    are summed before the single inverse transform (the correlation is linear in them).
    """
    length = d.shape[axis]
    size = length if periodic else _fast_length(2 * length - 1)
    f = np.fft.rfft(d, n=size, axis=axis)
    power = np.moveaxis(f.real**2 + f.imag**2, axis, -1).reshape(-1, size // 2 + 1).sum(axis=0)
    return np.fft.irfft(power, n=size)[:length]


def temporal_correlation(spins, periodic, subtract="time", max_lag=None, normalize=False):
    """Compute the connected temporal correlation ``C(tau) = < d_it d_i,t+tau >``.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.
    periodic : bool
        True: ``t + tau`` modulo T, average over all T ticks (for T = 2 the lag-1 pair is
        counted twice, as (0, 1) and (1, 0)). False: average over the ``T - tau`` available pairs.
    subtract : {"time", "ensemble", "none"}
        Centre of the fluctuations (module docstring).
    max_lag : int, optional
        Largest lag (default T // 2; at most T - 1).
    normalize : bool
        Divide by ``C(0)`` (a correlation coefficient instead of a covariance).

    Returns
    -------
    numpy.ndarray, shape (max_lag + 1,), float64
        ``C(tau)`` for tau = 0..max_lag, averaged over neurons and replicas.
    """
    s = validate_spins(spins)
    r, n, t = s.shape
    max_lag = t // 2 if max_lag is None else int(max_lag)
    if not 0 <= max_lag < t:
        raise ParameterError(f"max_lag must be in [0, {t - 1}]; got {max_lag}")
    total = np.zeros(t)
    for d in _centred_chunks(s, subtract):
        total += _autocorrelation_sums(d, 2, periodic)
    pairs = np.full(t, float(t)) if periodic else np.arange(t, 0, -1, dtype=np.float64)
    c = total[: max_lag + 1] / (r * n * pairs[: max_lag + 1])
    return _normalized(c) if normalize else c


def _normalized(c):
    return c / c[0] if c[0] > 0 else np.zeros_like(c)


def _grid_sums(d, rows, cols, periodic):
    """Sum d(x) d(x + k) over positions x, for all displacements k on a rows x cols sheet.

    Returns the sums (summed over replicas and ticks), the number of pairs per (r, t) and the
    displacement components, all flattened over displacements.
    """
    # (r, T, rows, cols), C-contiguous so that the 2-D transforms run over the last axes
    g = np.ascontiguousarray(d.transpose(0, 2, 1)).reshape(d.shape[0], d.shape[2], rows, cols)
    if periodic:
        shape = (rows, cols)
    else:
        shape = (
            _fast_length(2 * rows - 1),
            _fast_length(2 * cols - 1),
        )
    f = np.fft.rfft2(g, s=shape, axes=(2, 3))
    p = np.fft.irfft2((f.real**2 + f.imag**2).sum(axis=(0, 1)), s=shape)
    if periodic:
        kx, ky = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        dx, dy = np.minimum(kx, rows - kx), np.minimum(ky, cols - ky)
        counts = np.full(p.shape, float(rows * cols))
        return p.ravel(), counts.ravel(), dx.ravel(), dy.ravel()
    ix = np.arange(-(rows - 1), rows)
    iy = np.arange(-(cols - 1), cols)
    kx, ky = np.meshgrid(ix, iy, indexing="ij")
    sums = p[kx % shape[0], ky % shape[1]]
    counts = (rows - np.abs(kx)) * (cols - np.abs(ky)).astype(np.float64)
    return sums.ravel(), counts.ravel(), np.abs(kx).ravel(), np.abs(ky).ravel()


def spatial_correlation(
    spins, connectivity="ring", grid_shape=None, periodic=True, subtract="time", normalize=False
):
    """Compute the connected equal-time correlation ``C(r)`` versus distance on a ring or grid.

    Parameters
    ----------
    spins : array_like, shape (R, N, T)
        Spins -1/+1.
    connectivity : {"ring", "grid"}
        ``"ring"``: neurons 0..N-1 on a ring (periodic) or chain (open), distance ``|i - j|``
        (``min(|i - j|, N - |i - j|)`` when periodic), r = 0..N//2. ``"grid"``: neuron
        ``i = row * cols + col`` (C order) on a rows x cols sheet; a displacement (dx, dy)
        (minimum image when periodic) belongs to the shell ``r = round(sqrt(dx**2 + dy**2))``,
        r = 0..min(rows, cols)//2; C(r) is the pair-weighted mean over the shell (so shell 1
        holds the 4 nearest and the 4 diagonal neighbours).
    grid_shape : tuple of int, optional
        ``(rows, cols)`` with ``rows * cols == N``; required for ``"grid"``.
    periodic : bool
        Periodic neuron boundary (torus) or open.
    subtract : {"time", "ensemble", "none"}
        Centre of the fluctuations (module docstring).
    normalize : bool
        Divide by ``C(0)``.

    Returns
    -------
    numpy.ndarray, float64
        ``C(r)`` for r = 0..r_max, averaged over pairs at that distance, ticks and replicas.
    """
    s = validate_spins(spins)
    r, n, t = s.shape
    if connectivity == "ring":
        total = np.zeros(n)
        for d in _centred_chunks(s, subtract):
            total += _autocorrelation_sums(d, 1, periodic)
        rmax = n // 2
        pairs = np.full(n, float(n)) if periodic else np.arange(n, 0, -1, dtype=np.float64)
        c = total[: rmax + 1] / (r * t * pairs[: rmax + 1])
    elif connectivity == "grid":
        if grid_shape is None or len(grid_shape) != 2:
            raise ParameterError("connectivity='grid' needs grid_shape=(rows, cols)")
        rows, cols = (int(v) for v in grid_shape)
        if rows < 1 or cols < 1 or rows * cols != n:
            raise ParameterError(f"grid_shape {grid_shape} does not hold N = {n} neurons")
        sums = None
        for d in _centred_chunks(s, subtract):
            part, counts, dx, dy = _grid_sums(d, rows, cols, periodic)
            sums = part if sums is None else sums + part
        shell = np.rint(np.sqrt(dx**2 + dy**2)).astype(np.int64)
        rmax = min(rows, cols) // 2
        keep = shell <= rmax
        num = np.bincount(shell[keep], weights=sums[keep], minlength=rmax + 1)
        den = np.bincount(shell[keep], weights=counts[keep], minlength=rmax + 1)
        c = num / (den * r * t)
    else:
        raise ParameterError(f"connectivity must be 'ring' or 'grid'; got {connectivity!r}")
    return _normalized(c) if normalize else c


def second_moment_correlation_length(correlation, periodic_length):
    """Second-moment correlation length from the structure factor at k = 0 and k = 2 pi / L.

    ``xi_2nd = sqrt(S(0) / S(k_min) - 1) / (2 sin(k_min / 2))`` with
    ``S(k) = sum_{x=0}^{L-1} C(x) cos(k x)`` on a periodic axis of length L (Cooper, Freedman &
    Preston 1982; Caracciolo et al.). For the exact periodic Ising chain of MODEL.md E3,
    ``C(x) = (tau**x + tau**(L - x)) / (1 + tau**L)``, it equals ``sqrt(tau) / (1 - tau)`` for
    every L (for the truncated ``C(x) = tau**|x|`` only as L grows). Works for the neuron
    axis of a ring (``L = N``) and for the time axis (``L = T``); on open data it is an estimate.

    Parameters
    ----------
    correlation : array_like, shape (L//2 + 1,) or (L,)
        ``C(x)`` for x = 0..L//2 (mirrored as ``C(L - x) = C(x)``, the output of
        :func:`temporal_correlation` / :func:`spatial_correlation` with default ``max_lag``) or
        for the full period x = 0..L-1.
    periodic_length : int
        L >= 2.

    Returns
    -------
    float
        NaN when ``S(k_min) <= 0`` or ``S(0) < S(k_min)`` (no positive correlation length).
    """
    c = np.asarray(correlation, dtype=np.float64)
    length = int(periodic_length)
    if length < 2 or length != periodic_length:
        raise ParameterError(f"periodic_length must be an integer >= 2; got {periodic_length}")
    if c.ndim != 1 or not np.all(np.isfinite(c)):
        raise ParameterError("correlation must be a finite 1-D array")
    x = np.arange(length)
    if c.size == length // 2 + 1:
        full = c[np.minimum(x, length - x)]
    elif c.size == length:
        full = c
    else:
        raise ParameterError(
            f"correlation has {c.size} values; expected L//2+1 = {length // 2 + 1} or L = {length}"
        )
    k = 2.0 * math.pi / length
    s0 = float(full.sum())
    s1 = float(np.sum(full * np.cos(k * x)))
    if s1 <= 0 or s0 < s1:
        return float("nan")
    return math.sqrt(s0 / s1 - 1.0) / (2.0 * math.sin(k / 2.0))


def _exponential(x, a, xi):
    with np.errstate(over="ignore", under="ignore"):
        return a * np.exp(-x / xi)


def _cosh(x, a, xi, half):
    with np.errstate(over="ignore"):
        return a * np.cosh((x - half) / xi)


def exponential_correlation_length(correlation, r_min=1, r_max=None, periodic_length=None):
    """Fit ``C(r) = A exp(-r / xi)`` (open) or ``A cosh((r - L/2) / xi)`` (periodic).

    Parameters
    ----------
    correlation : array_like, shape (n,)
        ``C(r)`` for r = 0..n-1.
    r_min, r_max : int
        Inclusive fit range (default r_max = n - 1); needs at least 3 points with ``C > 0``.
    periodic_length : int, optional
        L for the cosh form (periodic axis); None for the pure exponential.

    Returns
    -------
    xi, xi_err : float
        Correlation length and its least-squares error (unweighted fit).

    Raises
    ------
    FitError
        Too few positive points or no convergence.
    """
    c = np.asarray(correlation, dtype=np.float64)
    r_max = c.size - 1 if r_max is None else int(r_max)
    r = np.arange(int(r_min), r_max + 1)
    if r.size and (r[0] < 0 or r[-1] >= c.size):
        raise ParameterError(f"fit range [{r_min}, {r_max}] outside 0..{c.size - 1}")
    y = c[r]
    keep = y > 0
    if keep.sum() < 3:
        raise FitError("exponential fit needs at least 3 points with C(r) > 0")
    r, y = r[keep], y[keep]
    slope = np.polyfit(r, np.log(y), 1)[0]
    xi0 = -1.0 / slope if slope < 0 else float(r[-1])
    if periodic_length is None:
        model = _exponential
        p0 = (y[0] * math.exp(r[0] / xi0), xi0)
    else:
        model = functools.partial(_cosh, half=periodic_length / 2.0)
        p0 = (y[0] / math.cosh((r[0] - periodic_length / 2.0) / xi0), xi0)
    from scipy import optimize  # 0.2 s to import: only this fit needs it (dashboard start-up)

    try:
        popt, pcov = optimize.curve_fit(model, r, y, p0=p0, bounds=([0, 1e-6], [np.inf, np.inf]))
    except (RuntimeError, ValueError) as exc:
        raise FitError(f"exponential fit of C(r) did not converge: {exc}") from exc
    return float(popt[1]), float(math.sqrt(max(pcov[1, 1], 0.0)))
