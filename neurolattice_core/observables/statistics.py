"""Statistics of Monte Carlo (or trial) series: autocorrelation time, blocking, jackknife.

Conventions
-----------
A *series* has shape ``(n,)`` (one chain) or ``(R, n)`` (R independent replicas of equal
length n, e.g. the energy per site of every replica after each sweep).

- Normalised autocorrelation ``rho(t) = C(t) / C(0)`` with the biased estimator
  ``C(t) = 1/n sum_s (x_s - xbar)(x_{s+t} - xbar)`` (each replica around its own mean, then
  averaged over replicas before normalising).
- Integrated autocorrelation time ``tau_int = 1/2 + sum_{t >= 1} rho(t)``, so that
  ``var(mean) = 2 tau_int var(x) / n``; an AR(1) series with coefficient phi has
  ``tau_int = (1 + phi) / (2 (1 - phi))``. Summation window by Sokal's automatic rule: the
  smallest W with ``W >= c tau_int(W)`` (Sokal, "Monte Carlo methods in statistical mechanics",
  1996; Madras & Sokal, J. Stat. Phys. 50, 109 (1988)). Its error is
  ``tau_int sqrt(2 (2 W + 1) / n_total)``.
- Blocking (Flyvbjerg & Petersen, J. Chem. Phys. 91, 461 (1989)) with the automatic choice of
  the blocking level by Jonsson's M-test (Phys. Rev. E 98, 043304 (2018)), raised if needed to
  blocks of at least 20 (tau_int - 1/2) samples; for R replicas the level is chosen jointly
  (the M statistics are summed over replicas) and the variance of the grand mean is
  ``mean_r(var_r) / R`` ("pooled").
"""

import math
import warnings

import numpy as np

from neurolattice_core.errors import ParameterError

__all__ = [
    "AutocorrelationWarning",
    "as_series",
    "autocorrelation_function",
    "integrated_autocorrelation_time",
    "tau_int_error",
    "blocking_analysis",
    "blocking_mean_error",
    "jackknife",
]


class AutocorrelationWarning(UserWarning):
    """The series is too short for a reliable autocorrelation time or blocking error."""


def as_series(x, name="x", min_length=2):
    """Validate a series and return it as a float64 array of shape (R, n).

    Parameters
    ----------
    x : array_like, shape (n,) or (R, n)
        One chain or R replicas of equal length.
    name : str
        Name used in error messages.
    min_length : int
        Smallest allowed n.

    Returns
    -------
    numpy.ndarray, shape (R, n), float64

    Raises
    ------
    ParameterError
        Wrong number of dimensions, too short, or non-finite values.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ParameterError(f"{name} must have shape (n,) or (R, n); got {np.shape(x)}")
    if a.shape[0] < 1 or a.shape[1] < min_length:
        raise ParameterError(f"{name} needs R >= 1 and n >= {min_length}; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ParameterError(f"{name} holds NaN or infinite values")
    return a


def _autocovariance(a):
    """Replica-averaged biased autocovariance C(t), t = 0..n-1, of a (R, n) float64 array."""
    n = a.shape[1]
    d = a - a.mean(axis=1, keepdims=True)
    size = 1 << int(2 * n - 1).bit_length()  # zero padding: no circular wrap-around
    f = np.fft.rfft(d, n=size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :n]
    return acov.mean(axis=0) / n


def autocorrelation_function(x, max_lag=None):
    """Normalised autocorrelation ``rho(t)`` of a series, averaged over replicas.

    Parameters
    ----------
    x : array_like, shape (n,) or (R, n)
        Series; each replica is centred on its own mean.
    max_lag : int, optional
        Largest lag returned (default n - 1).

    Returns
    -------
    numpy.ndarray, shape (max_lag + 1,), float64
        ``rho(0) = 1``; all zeros except ``rho(0)`` when the series is constant.
    """
    a = as_series(x)
    n = a.shape[1]
    max_lag = n - 1 if max_lag is None else int(max_lag)
    if not 0 <= max_lag < n:
        raise ParameterError(f"max_lag must be in [0, {n - 1}]; got {max_lag}")
    acov = _autocovariance(a)
    rho = np.zeros(max_lag + 1)
    rho[0] = 1.0
    if acov[0] > 0:
        rho = acov[: max_lag + 1] / acov[0]
    return rho


def integrated_autocorrelation_time(x, c=5.0):
    """Integrated autocorrelation time with Sokal's automatic window.

    Parameters
    ----------
    x : array_like, shape (n,) or (R, n)
        Series (R replicas are combined by averaging their autocovariances).
    c : float
        Window constant, ``W >= c tau_int(W)``; 5..6 is standard (range [1, 20]).

    Returns
    -------
    tau_int : float
        ``1/2 + sum_{t=1}^{W} rho(t)`` in units of the sampling interval (0.5 for
        uncorrelated samples and for a constant series).
    window : int
        The summation window W.

    Warns
    -----
    AutocorrelationWarning
        When the series (per replica) is shorter than ``50 tau_int`` (Sokal's rule of thumb):
        a short series underestimates tau_int (the window criterion itself can always be met,
        because the biased autocorrelation estimator sums to zero).
    """
    if not 1.0 <= c <= 20.0:
        raise ParameterError(f"c must be in [1, 20]; got {c}")
    a = as_series(x)
    if np.all(np.ptp(a, axis=1) == 0):
        return 0.5, 0
    acov = _autocovariance(a)
    taus = 0.5 + np.concatenate(([0.0], np.cumsum(acov[1:] / acov[0])))
    windows = np.arange(taus.size)
    # the biased estimator sums to tau(n - 1) = 0, so a window exists up to round-off
    ok = np.flatnonzero(windows >= c * taus)
    w = int(ok[0]) if ok.size else int(windows[-1])
    if a.shape[1] < 50.0 * taus[w]:
        warnings.warn(
            f"series of length {a.shape[1]} is shorter than 50 tau_int = {50 * taus[w]:.0f}; "
            "tau_int and error bars are unreliable",
            AutocorrelationWarning,
            stacklevel=2,
        )
    return float(taus[w]), w


def tau_int_error(tau_int, window, n_total):
    """Madras-Sokal error of ``tau_int``: ``tau_int sqrt(2 (2 W + 1) / n_total)``.

    Parameters
    ----------
    tau_int : float
        Estimated integrated autocorrelation time.
    window : int
        Summation window W.
    n_total : int
        Number of samples used (R n for R replicas of length n).

    Returns
    -------
    float
    """
    return float(tau_int) * math.sqrt(2.0 * (2 * int(window) + 1) / int(n_total))


def blocking_analysis(x, confidence=0.99, min_block_tau=20.0, min_blocks=16, c=5.0):
    """Flyvbjerg-Petersen blocking table with an automatic choice of the blocking level.

    At level k the series is averaged in blocks of ``b = 2**k`` samples (a trailing odd sample
    is dropped at each halving). The variance of the grand mean estimated at level k is
    ``s_k**2 b / n`` per replica (``s_k**2`` the unbiased variance of the block means), pooled
    as ``mean_r / R`` over replicas.

    Level choice: Jonsson's M-test gives the first k whose statistic
    ``M_k = sum_r sum_{j >= k} n_j (gamma_j / sigma_j**2)**2`` (gamma the lag-1 autocovariance of
    the block means) lies below the ``confidence`` quantile of chi-square with ``R (L - k)``
    degrees of freedom (L the number of levels). The blocked variance is biased low by about
    ``2 (tau_int - 1/2) / b`` (for AR(1) with tau_int = 4.5 that is 7 % in the error at
    ``b = 32``, a bias the test often misses), so the level is then raised, if needed, until
    ``b >= min_block_tau (tau_int - 1/2)`` (Sokal's tau_int), which keeps the bias of the error
    below about 5 % (1.7 % at b = 128 in that example) and leaves uncorrelated data at level 0;
    but never beyond the last level with at least ``min_blocks`` blocks in total.
    ``converged`` is False when either criterion could not be met; the error is then a lower
    bound.

    Parameters
    ----------
    x : array_like, shape (n,) or (R, n)
        Series, n >= 4.
    confidence : float
        Quantile of the M-test, in (0.5, 1).
    min_block_tau : float
        Smallest block size in units of ``tau_int - 1/2`` (>= 0; 0 disables the criterion).
    min_blocks : int
        Smallest total number of blocks R n_k of an admissible level (>= 2).
    c : float
        Sokal window constant for tau_int.

    Returns
    -------
    dict
        ``block_sizes`` (L,), ``n_blocks`` (L,) per replica, ``errors`` (L,) standard error of
        the grand mean per level, ``errors_err`` (L,) their uncertainty
        ``err / sqrt(2 R (n_k - 1))``, ``m_statistic`` (L,), ``m_test_level`` (int),
        ``level`` (int, the chosen k), ``error`` (float), ``tau_int`` (float),
        ``converged`` (bool).
    """
    if not 0.5 < confidence < 1.0:
        raise ParameterError(f"confidence must be in (0.5, 1); got {confidence}")
    if min_block_tau < 0 or int(min_blocks) < 2:
        raise ParameterError("min_block_tau must be >= 0 and min_blocks >= 2")
    a = as_series(x, min_length=4)
    r, n = a.shape
    sizes, counts, errs, terms = [], [], [], []
    cur, b = a, 1
    while cur.shape[1] >= 2:
        nk = cur.shape[1]
        d = cur - cur.mean(axis=1, keepdims=True)
        ss = np.sum(d * d, axis=1)
        gamma = np.sum(d[:, :-1] * d[:, 1:], axis=1) / nk
        sigma2 = ss / nk
        safe = np.where(sigma2 > 0, sigma2, 1.0)
        terms.append(float(np.sum(np.where(sigma2 > 0, nk * (gamma / safe) ** 2, 0.0))))
        var_mean = np.mean(ss / (nk - 1) * b / n) / r
        sizes.append(b)
        counts.append(nk)
        errs.append(math.sqrt(var_mean))
        half = nk // 2
        cur = 0.5 * (cur[:, 0 : 2 * half : 2] + cur[:, 1 : 2 * half : 2])
        b *= 2
    levels = len(sizes)
    sizes_a, counts_a, errs_a = np.asarray(sizes), np.asarray(counts), np.asarray(errs)
    m_stat = np.cumsum(np.asarray(terms)[::-1])[::-1]
    dof = r * (levels - np.arange(levels))
    from scipy import stats  # 0.3 s to import: only this test needs it (dashboard start-up)

    passed = np.flatnonzero(m_stat < stats.chi2.ppf(confidence, dof))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AutocorrelationWarning)
        tau = integrated_autocorrelation_time(a, c=c)[0]
    admissible = np.flatnonzero(r * counts_a >= int(min_blocks))
    last = int(admissible[-1]) if admissible.size else 0
    m_level = int(passed[0]) if passed.size else levels - 1
    tau_ok = np.flatnonzero(sizes_a >= min_block_tau * (tau - 0.5))
    tau_level = int(tau_ok[0]) if tau_ok.size else levels - 1
    wanted = max(m_level, tau_level)
    level = min(wanted, last)
    converged = bool(passed.size) and wanted <= last
    return {
        "block_sizes": sizes_a,
        "n_blocks": counts_a,
        "errors": errs_a,
        "errors_err": errs_a / np.sqrt(2.0 * r * np.maximum(counts_a - 1, 1)),
        "m_statistic": m_stat,
        "m_test_level": m_level,
        "level": level,
        "error": float(errs_a[level]),
        "tau_int": float(tau),
        "converged": converged,
    }


def blocking_mean_error(x, method="blocking", combine="pooled", c=5.0):
    """Mean of a (possibly correlated, possibly multi-replica) series and its standard error.

    Parameters
    ----------
    x : array_like, shape (n,) or (R, n)
        Series; the mean is the grand mean over all replicas and samples.
    method : {"blocking", "tau"}
        ``"blocking"``: Flyvbjerg-Petersen blocking with Jonsson's level choice
        (:func:`blocking_analysis`). ``"tau"``: ``err**2 = 2 tau_int var / (R n)`` with ``var``
        the within-replica variance and ``tau_int`` from Sokal's window.
        Used only with ``combine="pooled"``.
    combine : {"pooled", "between"}
        How replicas are combined. ``"pooled"``: within-replica errors pooled as
        ``var(grand mean) = mean_r(var_r) / R`` (valid when all replicas sample the same
        distribution). ``"between"``: ``err = std_r(replica means, ddof=1) / sqrt(R)``, needs
        R >= 2 and is the robust choice when replicas may sit in different states (it also sees
        non-equilibrated replicas).
    c : float
        Sokal window constant for the reported ``tau_int``.

    Returns
    -------
    mean : float
    err : float
        Standard error of the mean.
    tau_int : float
        Integrated autocorrelation time (Sokal), reported in every case.

    Warns
    -----
    AutocorrelationWarning
        When blocking finds no plateau or the series is too short for Sokal's window.
    """
    a = as_series(x, min_length=4)
    r, n = a.shape
    mean = float(a.mean())
    tau, _ = integrated_autocorrelation_time(a, c=c)
    if combine == "between":
        if r < 2:
            raise ParameterError("combine='between' needs at least 2 replicas")
        err = float(np.std(a.mean(axis=1), ddof=1) / math.sqrt(r))
    elif combine != "pooled":
        raise ParameterError(f"combine must be 'pooled' or 'between'; got {combine!r}")
    elif method == "blocking":
        table = blocking_analysis(a)
        if not table["converged"]:
            warnings.warn(
                "blocking found no plateau: the error is a lower bound; use a longer series",
                AutocorrelationWarning,
                stacklevel=2,
            )
        err = table["error"]
    elif method == "tau":
        var = float(np.mean(np.var(a, axis=1)))
        err = math.sqrt(2.0 * tau * var / (r * n))
    else:
        raise ParameterError(f"method must be 'blocking' or 'tau'; got {method!r}")
    return mean, err, tau


def jackknife(func, *series, block_size=None, c=5.0):
    """Blocked jackknife estimate and error of ``func(<x1>, <x2>, ...)``.

    The data of each replica are cut into blocks of ``block_size`` samples (the first
    ``n mod block_size`` samples, nearest to the burn-in, are left out of the error estimate);
    every (replica, block) pair is one jackknife unit. With U units and leave-one-out estimates
    ``f_u``, ``err**2 = (U - 1)/U sum_u (f_u - mean f)**2``. The estimate itself is ``func`` of
    the means over all data.

    Parameters
    ----------
    func : callable
        ``func(mean_1, mean_2, ...)``, numpy-vectorised: called with scalars (full estimate) and
        with arrays of shape (U,) (leave-one-out means).
    *series : array_like, each shape (n,) or (R, n)
        Primary series (e.g. ``e`` and ``e**2``), all of the same shape.
    block_size : int, optional
        Samples per block; default ``ceil(10 max tau_int)`` of the series (at most n, in which
        case whole replicas are the units).
    c : float
        Sokal window constant used for the default block size.

    Returns
    -------
    estimate : float
    err : float

    Raises
    ------
    ParameterError
        Mismatched shapes, fewer than 2 jackknife units, or a bad block size.
    """
    if not series:
        raise ParameterError("jackknife needs at least one series")
    arrays = [as_series(s, name=f"series[{k}]") for k, s in enumerate(series)]
    shape = arrays[0].shape
    if any(a.shape != shape for a in arrays):
        raise ParameterError(f"all series must share one shape; got {[a.shape for a in arrays]}")
    r, n = shape
    if block_size is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AutocorrelationWarning)
            tau = max(integrated_autocorrelation_time(a, c=c)[0] for a in arrays)
        block_size = min(n, max(1, math.ceil(10.0 * tau)))
    block_size = int(block_size)
    if not 1 <= block_size <= n:
        raise ParameterError(f"block_size must be in [1, {n}]; got {block_size}")
    nb = n // block_size
    units = r * nb
    if units < 2:
        raise ParameterError(
            f"jackknife needs >= 2 blocks; got {units} (R={r}, n={n}, block_size={block_size})"
        )
    start = n - nb * block_size
    block_means = [a[:, start:].reshape(r, nb, block_size).mean(axis=2).ravel() for a in arrays]
    loo = [(bm.sum() - bm) / (units - 1) for bm in block_means]
    with np.errstate(divide="ignore", invalid="ignore"):
        full = float(func(*[a.mean() for a in arrays]))
        f_loo = np.asarray(func(*loo), dtype=np.float64)
    err = math.sqrt((units - 1) / units * float(np.sum((f_loo - f_loo.mean()) ** 2)))
    return full, err


def running_mean(x, window):
    """Trailing mean of a series over its last ``window`` points.

    Parameters
    ----------
    x : array_like
        A series (n,), e.g. the energy per site after each sweep.
    window : int
        Points averaged (>= 1); the first ``window - 1`` points average all points so far.

    Returns
    -------
    numpy.ndarray
        float64 (n,): entry s is the mean of ``x[max(0, s - window + 1) : s + 1]``.
    """
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ParameterError(f"window must be an integer >= 1, got {window!r}.")
    values = np.asarray(x, dtype=np.float64)
    if values.ndim != 1:
        raise ParameterError(f"x must be one series of shape (n,), got shape {values.shape}.")
    sums = np.cumsum(values)
    sums[window:] = sums[window:] - sums[:-window]
    return sums / np.minimum(np.arange(1, len(values) + 1), window)
