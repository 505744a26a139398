"""Renormalisation by decimation in time and in neurons (MODEL.md section 6).

Time: a raster is coarse-grained by an integer factor b (bin width Delta -> b Delta) with one of
two rules, and the model is refitted at every bin width (:func:`flow_in_time`):

- ``"any"``: the new bin holds a spike when *any* of the b old bins does (spins: +1 when any of
  the b spins is +1). This is what re-binning a recording at b Delta gives.
- ``"keep"``: keep every b-th tick (ticks 0, b, 2b, ...) and drop the others. This is the
  decimation for which the exact J = 0, h = 0 chain result holds:
  ``tanh(K'/theta) = tanh(K/theta)**b`` (:func:`chain_decimated_coupling`).

Both rules keep ``T // b`` ticks; the last ``T % b`` ticks of each trial are dropped.

Neurons: fits over random subsets of n of the N units (:func:`flow_in_neurons`) and the
mean-field map of the all-to-all model (:func:`mean_field_decimation` and its inverse
:func:`mean_field_microscopic`).

Mean-field neuron decimation (all-to-all model, J_ij = J/N, fitted units n of N, alpha = n/N):
the n recorded units form an all-to-all model of their own with per-population coupling
``J_eff = n J_eff_pair`` and field ``h_eff``. At leading order (MODEL.md section 6)
``J_eff = alpha J`` and ``h_eff = h + J (1 - alpha) m*``, m* the self-consistent magnetisation.
Integrating out the N - n unrecorded units to second order (their Gaussian fluctuations, exact
for N -> infinity at fixed alpha and K = 0) adds the reaction of the hidden population:
``J_eff = alpha J / (1 - (1 - alpha) (1 - m*^2) J / theta)`` and ``h_eff = h + (J - J_eff) m*``.
The leading-order map is accurate when J (1 - m*^2) / theta << 1 but is biased by the
factor ``1 / (1 - (1 - alpha) (1 - m*^2) J / theta)`` otherwise (``correction="gaussian"``
removes it). In both maps ``h_eff + J_eff m* = h + J m*``: the recorded units see the same
local field, so m* (the kernel) is invariant.
"""

import numpy as np

from .errors import ParameterError

__all__ = ["RULES", "CORRECTIONS", "decimate_time", "chain_decimated_coupling", "flow_in_time",
           "summarize_fit", "flow_in_neurons", "chain_magnetization", "mean_field_decimation",
           "mean_field_microscopic"]

RULES = ("any", "keep")
CORRECTIONS = ("none", "gaussian")


def _as_raster(data):
    """(raster (R, N, T) array, bin width in s or None) from an array or a BinnedRecording."""
    if hasattr(data, "binary") and hasattr(data, "bin_s"):
        return np.asarray(data.binary), float(data.bin_s)
    raster = np.asarray(data)
    if raster.ndim == 2:
        raster = raster[None]
    if raster.ndim != 3:
        raise ParameterError(f"raster must have shape (R, N, T) or (N, T); got {raster.shape}")
    return raster, None


def decimate_time(raster, factor, rule="any"):
    """Coarse-grain the time axis of a raster or spin array by an integer factor.

    Parameters
    ----------
    raster : array_like, shape (R, N, T) or (N, T)
        0/1 spike raster (any integer or bool dtype) or +-1 spins (int8).
    factor : int
        Decimation factor b >= 1 (new bin width b Delta).
    rule : {"any", "keep"}
        ``"any"``: block maximum over ticks ``[k b, (k+1) b)`` (a spike in any of the b bins ->
        spike; for spins, +1 if any spin is +1). ``"keep"``: tick ``k b`` only (decimation of
        the chain; exact RG of J = 0, h = 0 chains, see :func:`chain_decimated_coupling`).

    Returns
    -------
    numpy.ndarray, shape (R, N, T // b) (or (N, T // b)), same dtype as the input
        The last ``T % b`` ticks are dropped.
    """
    if rule not in RULES:
        raise ParameterError(f"rule must be one of {RULES}; got {rule!r}")
    b = int(factor)
    if b != factor or b < 1:
        raise ParameterError(f"factor must be an integer >= 1; got {factor}")
    x = np.asarray(raster)
    if x.ndim not in (2, 3):
        raise ParameterError(f"raster must have shape (R, N, T) or (N, T); got {x.shape}")
    t_new = x.shape[-1] // b
    if t_new < 1:
        raise ParameterError(f"factor {b} exceeds the {x.shape[-1]} ticks of the raster")
    if rule == "keep":
        return np.ascontiguousarray(x[..., : t_new * b : b])
    blocks = x[..., : t_new * b].reshape(x.shape[:-1] + (t_new, b))
    return np.ascontiguousarray(blocks.max(axis=-1))


def chain_decimated_coupling(K, factor, theta=1.0):
    """Exact temporal coupling after keeping every b-th tick of a J = 0, h = 0 chain.

    ``tanh(K'/theta) = tanh(K/theta)**b`` (MODEL.md section 6), so the correlation time in
    physical units, Delta xi = -Delta / log tanh(K/theta), is invariant.

    Parameters
    ----------
    K : float or array_like
        Temporal coupling(s) at bin width Delta.
    factor : int or array_like
        Decimation factor(s) b >= 1.
    theta : float
        Temperature (> 0); fitted parameters use theta = 1.

    Returns
    -------
    numpy.ndarray or float
        K' = theta artanh(tanh(K/theta)**b) (broadcast over K and b).
    """
    if not theta > 0:
        raise ParameterError(f"theta must be > 0; got {theta}")
    b = np.asarray(factor)
    if np.any(b < 1):
        raise ParameterError(f"factor must be >= 1; got {factor}")
    value = theta * np.arctanh(np.tanh(np.asarray(K, float) / theta) ** b)
    return value.item() if np.ndim(value) == 0 else value


def _mean_with_error(values, errors=None):
    """Mean of values, its standard error from per-item errors (assumed independent), spread."""
    v = np.asarray(values, float)
    spread = float(v.std(ddof=1)) if v.size > 1 else 0.0
    if errors is None:
        err = spread / np.sqrt(v.size) if v.size > 1 else float("nan")
    else:
        err = float(np.sqrt(np.sum(np.asarray(errors, float) ** 2)) / v.size)
    return float(v.mean()), err, spread


def summarize_fit(result):
    """Mean couplings of a :class:`~neurolattice_core.fitting.api.FitResult` with errors.

    Returns
    -------
    dict
        ``mean_J`` over pairs i < j, ``mean_J_err`` (from the fit's J_se, pairs treated as
        independent; NaN without standard errors), ``std_J`` (spread over pairs); the same for
        K over units (NaN for maxent) and for h (``mean_h_err`` is the standard error over units,
        as the fit gives no h_se); ``n_units``; ``units`` (list); per-unit arrays ``h`` (N,),
        ``K`` (N,) or None, ``J`` (N, N), ``J_se``, ``K_se`` (or None) as lists.
    """
    n = result.J.shape[0]
    iu = np.triu_indices(n, 1)
    J_se = None if result.J_se is None else result.J_se[iu]
    out = {"n_units": int(n), "units": np.asarray(result.units).tolist()}
    out["mean_J"], out["mean_J_err"], out["std_J"] = _mean_with_error(result.J[iu], J_se)
    if J_se is None:
        out["mean_J_err"] = float("nan")
    out["mean_h"], out["mean_h_err"], out["std_h"] = _mean_with_error(result.h)
    if result.K is not None:
        out["mean_K"], out["mean_K_err"], out["std_K"] = _mean_with_error(result.K, result.K_se)
    else:
        out["mean_K"] = out["mean_K_err"] = out["std_K"] = float("nan")
    for name in ("h", "K", "J", "J_se", "K_se"):
        value = getattr(result, name)
        out[name] = None if value is None else np.asarray(value).tolist()
    return out


def flow_in_time(data, factors, model="lft", rule="any", method="pl", exact_chain=True,
                 **fit_options):
    """Refit a raster at bin widths b Delta and return the flow of (J, K, h).

    Parameters
    ----------
    data : BinnedRecording or array_like, shape (R, N, T) or (N, T)
        0/1 raster (or +-1 spins); a :class:`BinnedRecording` also gives the bin width.
    factors : sequence of int
        Decimation factors b (e.g. 1, 2, 4, 8).
    model : {"lft", "maxent", "kinetic"}
    rule : {"any", "keep"}
        See :func:`decimate_time`.
    method : str
        Fit method (see :func:`neurolattice_core.fitting.api.fit`).
    exact_chain : bool
        Add ``K_chain``: the exact J = 0, h = 0 prediction
        :func:`chain_decimated_coupling` applied to the mean K of the first factor (only
        meaningful for the "keep" rule and weakly coupled, unbiased units; an overlay).
    **fit_options
        Passed to ``fit`` (defaults: ``holdout=0``, ``validate_fit=False``,
        ``drop_inactive=True``).

    Returns
    -------
    list of dict
        One per factor: ``factor``, ``bin_s`` (None if unknown), ``n_ticks``, ``rule``,
        ``model``, the :func:`summarize_fit` entries, ``warnings`` and, when requested,
        ``K_chain``.
    """
    from .fitting.api import fit

    raster, bin_s = _as_raster(data)
    if not len(factors):
        raise ParameterError("factors must list at least one decimation factor")
    options = {"holdout": 0.0, "validate_fit": False, "drop_inactive": True, **fit_options}
    if raster.dtype == np.int8 and raster.min(initial=0) < 0:
        raster = ((raster + 1) // 2).astype(np.uint8)  # spins -> lattice gas
    flow = []
    for b in factors:
        coarse = decimate_time(raster, b, rule)
        res = fit(coarse, model=model, method=method, **options)
        entry = {"factor": int(b), "bin_s": None if bin_s is None else bin_s * int(b),
                 "n_ticks": int(coarse.shape[-1]), "rule": rule, "model": model}
        entry.update(summarize_fit(res))
        entry["warnings"] = list(res.warnings)
        flow.append(entry)
    if exact_chain and model == "lft":
        k0, b0 = flow[0]["mean_K"], flow[0]["factor"]
        for entry in flow:
            # decimating by b/b0 from the first factor's fit
            entry["K_chain"] = chain_decimated_coupling(k0, entry["factor"] / b0)
    return flow


def flow_in_neurons(data, sizes, draws=5, model="maxent", method="pl", seed=0, **fit_options):
    """Fit random subsets of n of the N units (several seeded draws per n).

    Parameters
    ----------
    data : BinnedRecording or array_like, shape (R, N, T) or (N, T)
        0/1 raster.
    sizes : sequence of int
        Subset sizes n (2 <= n <= N).
    draws : int
        Random subsets per size; draw d of size n uses ``numpy.random.default_rng([seed, n, d])``.
    model, method : str
        See :func:`neurolattice_core.fitting.api.fit`.
    seed : int
    **fit_options
        Passed to ``fit`` (defaults: ``holdout=0``, ``validate_fit=False``,
        ``drop_inactive=True``).

    Returns
    -------
    list of dict
        One per size: ``n``, ``draws`` (list of :func:`summarize_fit` dicts, each with the
        ``subset`` of unit indices; its ``units``, the units the fit kept, are numbered as in
        ``data`` too), and over the draws the mean and its standard error of
        ``mean_J``, ``mean_h``, ``mean_K`` (as ``mean_J``, ``mean_J_err``, ...) and of the
        per-population coupling ``J_eff = n mean_J`` (``J_eff``, ``J_eff_err``). For n = N
        there is one draw, the whole set, and the errors are NaN (no subset spread to show).
    """
    from .fitting.api import fit

    raster, _ = _as_raster(data)
    n_units = raster.shape[1]
    if int(draws) < 1:
        raise ParameterError(f"draws must be >= 1; got {draws}")
    options = {"holdout": 0.0, "validate_fit": False, "drop_inactive": True, **fit_options}
    flow = []
    for n in sizes:
        if not 2 <= int(n) <= n_units:
            raise ParameterError(f"subset sizes must be between 2 and N = {n_units}; got {n}")
        fits = []
        # every subset of all N units is the whole set: one fit, and no spread (errors NaN)
        for d in range(1 if int(n) == n_units else int(draws)):
            rng = np.random.default_rng([int(seed), int(n), d])
            subset = np.sort(rng.choice(n_units, size=int(n), replace=False))
            summary = summarize_fit(fit(raster[:, subset], model=model, method=method,
                                        **options))
            summary["subset"] = subset.tolist()
            summary["units"] = subset[summary["units"]].tolist()   # numbered as in ``data``
            fits.append(summary)
        entry = {"n": int(n), "draws": fits}
        for key in ("mean_J", "mean_h", "mean_K"):
            entry[key], entry[key + "_err"], _ = _mean_with_error([f[key] for f in fits])
        entry["J_eff"], entry["J_eff_err"], _ = _mean_with_error(
            [f["mean_J"] * f["n_units"] for f in fits])
        flow.append(entry)
    return flow


def chain_magnetization(field, K=0.0):
    """Magnetisation of an infinite 1-D chain in a uniform field (MODEL.md E3), theta = 1.

    ``m = sinh(H) / sqrt(sinh(H)**2 + exp(-4 K))``; equals ``tanh(H)`` for K = 0.
    """
    H = np.asarray(field, float)
    return np.sinh(H) / np.sqrt(np.sinh(H) ** 2 + np.exp(-4.0 * K))


def _self_consistent_m(h, J, K, sign):
    """Stable solution of m = chain_magnetization(h + J m, K) on the side of sign (theta = 1)."""
    m = float(sign)
    for _ in range(100000):
        new = float(chain_magnetization(h + J * m, K))
        if abs(new - m) < 1e-14:
            return new
        m = new
    raise ParameterError("the mean-field equation did not converge (J too close to critical)")


def _check_sizes(n, N):
    if not 1 <= n <= N:
        raise ParameterError(f"need 1 <= n <= N (recorded units within the population); got "
                             f"n={n}, N={N}")


def mean_field_decimation(J, h, N, n, K=0.0, theta=1.0, correction="none"):
    """Effective parameters of n recorded units of an N-unit all-to-all model (mean field).

    Parameters
    ----------
    J : float
        Per-population coupling of the full model (J_ij = J / N).
    h : float
        Uniform field.
    N, n : int or float
        Population size and number of recorded units (1 <= n <= N).
    K : float
        Temporal coupling (unchanged by neuron decimation).
    theta : float
        Temperature (fits use theta = 1).
    correction : {"none", "gaussian"}
        ``"none"``: MODEL.md section 6 (``J_eff = (n/N) J``, ``h_eff = h + J (1 - n/N) m*``);
        ``"gaussian"``: adds the fluctuations of the hidden units (module docstring; K = 0 only).

    Returns
    -------
    dict
        ``J_eff`` (per population of the n units, so the fitted pair coupling is J_eff / n),
        ``J_eff_pair``, ``h_eff``, ``K_eff`` (= K), ``m_star``.
    """
    if correction not in CORRECTIONS:
        raise ParameterError(f"correction must be one of {CORRECTIONS}; got {correction!r}")
    if correction == "gaussian" and K != 0:
        raise ParameterError("the gaussian correction is derived for K = 0 only")
    _check_sizes(n, N)
    b, j, k = h / theta, J / theta, K / theta
    m = _self_consistent_m(b, j, k, 1.0 if b >= 0 else -1.0)
    alpha = n / N
    j_eff = alpha * j
    if correction == "gaussian":
        j_eff = alpha * j / (1.0 - (1.0 - alpha) * (1.0 - m * m) * j)
    return {"J_eff": j_eff * theta, "J_eff_pair": j_eff * theta / n,
            "h_eff": (b + (j - j_eff) * m) * theta, "K_eff": K, "m_star": m}


def _invert(j_eff, b_eff, k, n, N, correction):
    """Microscopic (J, h, m*) in theta = 1 units from effective parameters (closed form)."""
    m = _self_consistent_m(b_eff, j_eff, k, 1.0 if b_eff >= 0 else -1.0)
    alpha = n / N
    if correction == "gaussian":
        j = (j_eff / alpha) / (1.0 + (j_eff / alpha) * (1.0 - alpha) * (1.0 - m * m))
    else:
        j = j_eff / alpha
    return j, b_eff + (j_eff - j) * m, m


def mean_field_microscopic(J_eff, h_eff, n, N, K=0.0, theta=1.0, correction="none",
                           J_eff_err=0.0, h_eff_err=0.0, N_err=0.0, samples=4000, seed=0):
    """Map fitted effective parameters of n units back to the N-unit all-to-all model.

    Inverse of :func:`mean_field_decimation`. m* solves the effective model's own mean-field
    equation (it equals the full model's, see the module docstring); then
    ``h = h_eff + (J_eff - J) m*`` and ``J = (N/n) J_eff`` (``"none"``) or
    ``J = (N/n) J_eff / (1 + (N/n) J_eff (1 - n/N) (1 - m*^2) / theta)`` (``"gaussian"``).
    Uncertainties are propagated by sampling: ``J_eff`` and ``h_eff`` from normals with the given
    errors and N (the assumed size of the minitube, e.g. from anatomy) from a normal with
    standard deviation ``N_err`` truncated to N >= n.

    Parameters
    ----------
    J_eff, h_eff : float
        Fitted per-population coupling of the n units (n times the mean pair coupling) and mean
        field.
    n : int
        Recorded units.
    N : float
        Assumed population size (>= n).
    K, theta : float
        Temporal coupling (passed through) and temperature.
    correction : {"none", "gaussian"}
    J_eff_err, h_eff_err, N_err : float
        Standard errors (>= 0).
    samples : int
        Monte Carlo draws for the propagation.
    seed : int

    Returns
    -------
    dict
        ``J``, ``h``, ``m_star`` at the central values; ``J_err``, ``h_err`` (standard deviation
        over draws) and ``J_interval``, ``h_interval`` (16th and 84th percentiles).
    """
    if correction not in CORRECTIONS:
        raise ParameterError(f"correction must be one of {CORRECTIONS}; got {correction!r}")
    if min(J_eff_err, h_eff_err, N_err) < 0 or int(samples) < 2:
        raise ParameterError("errors must be >= 0 and samples >= 2")
    _check_sizes(n, N)
    j, b, m = _invert(J_eff / theta, h_eff / theta, K / theta, n, N, correction)
    rng = np.random.default_rng(seed)
    Ns = N + N_err * rng.standard_normal(int(samples))
    Ns = np.where(Ns < n, n, Ns)
    js = J_eff / theta + J_eff_err / theta * rng.standard_normal(int(samples))
    bs = h_eff / theta + h_eff_err / theta * rng.standard_normal(int(samples))
    draws = np.array([_invert(a, c, K / theta, n, size, correction)[:2]
                      for a, c, size in zip(js, bs, Ns, strict=True)]) * theta
    return {"J": j * theta, "h": b * theta, "m_star": m,
            "J_err": float(draws[:, 0].std(ddof=1)), "h_err": float(draws[:, 1].std(ddof=1)),
            "J_interval": np.percentile(draws[:, 0], [16, 84]).tolist(),
            "h_interval": np.percentile(draws[:, 1], [16, 84]).tolist()}
