"""Honest error bars of a fit by the delete-a-group jackknife over trials (or time blocks).

The data are cut into G groups of whole trials (or, with fewer than G trials, into G
contiguous time blocks, each an open-time trial); the fit is repeated G times leaving one group
out, and the jackknife standard error of any fitted array x is

    se(x) = sqrt((G - 1) / G * sum_g (x_(g) - mean_g x_(g))^2).

Like the clustered sandwich errors that pseudo-likelihood fits report (:mod:`.sandwich`), it
accounts for the correlations the inverse Hessian ignores (neighbouring ticks in lft, the two
estimates behind a symmetrised J_ij, temporal correlations of the data); it costs G refits and
serves as an independent check, and for methods without sandwich errors.
"""

import numpy as np

from ..errors import FitError
from .data import FitData

__all__ = ["jackknife"]


def _groups(data, n_groups):
    r, n, t = data.spins.shape
    if r >= n_groups:
        return [data.spins[g] for g in np.array_split(np.arange(r), n_groups)], data.aligned
    length = t // n_groups
    if length < 10:
        raise FitError(f"cannot cut trials of {t} ticks into {n_groups} jackknife blocks")
    return [data.spins[:, :, g * length:(g + 1) * length] for g in range(n_groups)], False


def jackknife(data, fit_function, n_groups=10, keys=("h", "J", "K")):
    """Jackknife standard errors of the arrays a fit returns.

    Parameters
    ----------
    data : FitData
    fit_function : callable
        ``fit_function(FitData) -> dict`` with the arrays named in ``keys`` (e.g.
        ``lambda d: fit_pseudolikelihood(d, "lft")``).
    n_groups : int
        G >= 2.
    keys : tuple of str
        Arrays to get errors for (missing or None entries are skipped).

    Returns
    -------
    dict
        ``key -> standard error array`` for each available key.
    """
    if n_groups < 2:
        raise FitError("the jackknife needs at least 2 groups")
    parts, aligned = _groups(data, n_groups)
    estimates = {k: [] for k in keys}
    for g in range(len(parts)):
        rest = np.ascontiguousarray(np.concatenate([p for i, p in enumerate(parts) if i != g]))
        res = fit_function(FitData(rest, bin_ms=data.bin_ms, units=data.units, aligned=aligned))
        for k in keys:
            if res.get(k) is not None:
                estimates[k].append(np.asarray(res[k], dtype=np.float64))
    G = len(parts)
    out = {}
    for k, values in estimates.items():
        if len(values) == G:
            v = np.stack(values)
            out[k] = np.sqrt((G - 1) / G * np.sum((v - v.mean(axis=0)) ** 2, axis=0))
    return out
