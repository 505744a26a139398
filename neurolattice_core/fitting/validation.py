"""Held-out validation of a fit: what it reproduces, beside the independent model.

The fitted model's predicted statistics (:mod:`.statistics`) are obtained

- for maxent without drive and N <= 16, exactly by enumeration;
- for lft and maxent otherwise, from the engine (:func:`.sampling.sample_lattice`: heat bath,
  open time, T = the held-out trial length, so boundary ticks match the data), with chains
  started from training configurations and 200 sweeps of burn-in (a spurious ordered phase of
  the model then shows up as it would in equilibrium: by nucleation, not by the start), two
  snapshots 100 sweeps apart, whose difference tests that the chains had relaxed;
- for kinetic, by forward simulation.

They are compared with the held-out data's statistics by :func:`compare`; the same comparison
is made for the independent model (rates from the training data), for a maxent fit when the
model is lft, and for the training data itself (``train_vs_heldout``: what a perfect model could
reach given the sampling noise of the two halves). The held-out pseudo-log-likelihood (nats per
unit and sample) of each model is reported too; for the independent model it is the exact
log-likelihood. Correlations between a data statistic and a prediction with no spread (e.g. the
zero lag-1 covariances of a static model) are reported as 0.

Generative check (``reproduces``): the model, sampled, must reproduce the held-out rates and
equal-time covariances (and, for lft and kinetic, the lag-1 covariances) with an RMS error at
most :data:`REPRODUCE_FACTOR` times the split's noise level (``noise_ratio``). A fit can beat
the independent model on the held-out pseudo-likelihood and still fail this: pseudo-likelihood
matches conditionals, and when the data are not exactly of the model's family (real
populations have synchrony beyond pairs) its couplings are biased in a way the sampled joint
law amplifies (example50: mean lattice-gas coupling 0.172 by pl vs 0.137 by Boltzmann learning,
and the pl model runs away to a state with rates about 0.7). Boltzmann learning (``bm``),
started from the pl fit, matches the moments and is the refinement to use then.
"""

import numpy as np
from scipy import stats as sps

from ..observables import wasserstein1
from . import statistics as st
from .boltzmann import _data_start
from .pseudolikelihood import fit_pseudolikelihood, pseudo_loglik
from .sampling import sample_kinetic, sample_lattice

__all__ = ["compare", "validate", "model_statistics", "SUMMARY_KEYS"]

SUMMARY_KEYS = ("rate_corr", "corr_corr", "lag1_corr", "pk_w1", "heldout_pll")
EXACT_STATS_UNITS = 16
REPRODUCE_FACTOR = 3.0
"""A sampled model reproduces a statistic when its RMS error against the held-out data is at
most this many times the train-vs-held-out RMS difference (the split's own sampling noise)."""
_FLOOR = 1e-12


def _pearson(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 2:
        return 0.0
    da, db = a - a.mean(), b - b.mean()
    na, nb = np.sqrt(da @ da), np.sqrt(db @ db)
    if na <= _FLOOR or nb <= _FLOOR:
        return 0.0
    return float(da @ db / (na * nb))


def _rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2))) if np.size(a) else 0.0


def compare(data, pred, floor=None):
    """Numbers comparing data statistics with predicted ones (dicts of :mod:`.statistics`).

    Returns
    -------
    dict
        ``rate_corr``, ``rate_rmse``, ``corr_corr``, ``corr_rmse``, ``lag1_corr``,
        ``lag1_rmse``, ``triplet_corr``, ``triplet_rmse``, ``pk_w1`` (W1 between the two P(k) on
        0..N, in units), ``pattern_log10_error`` (mean |log10 f_pred - log10 f_data| over the
        most common held-out patterns, predicted frequencies floored at ``floor``, default
        1 / n_samples of the prediction), ``kernel_w1_units`` and ``kernel_w1_ticks`` (W1
        between the spectra of row and column averages of the kernel).
    """
    n_pred = pred.get("n_samples")
    floor = floor if floor is not None else (1.0 / n_pred if n_pred else _FLOOR)
    fd = np.maximum(data["patterns"], _FLOOR)
    fp = np.maximum(pred["patterns"], floor)
    cdf_d, cdf_p = np.cumsum(data["pk"]), np.cumsum(pred["pk"])
    return {
        "rate_corr": _pearson(data["rates"], pred["rates"]),
        "rate_rmse": _rmse(data["rates"], pred["rates"]),
        "corr_corr": _pearson(data["corr"], pred["corr"]),
        "corr_rmse": _rmse(data["corr"], pred["corr"]),
        "lag1_corr": _pearson(data["lag1"], pred["lag1"]),
        "lag1_rmse": _rmse(data["lag1"], pred["lag1"]),
        "triplet_corr": _pearson(data["triplets"], pred["triplets"]),
        "triplet_rmse": _rmse(data["triplets"], pred["triplets"]),
        "pk_w1": float(np.sum(np.abs(cdf_d - cdf_p)[:-1])),
        "pattern_log10_error": float(np.mean(np.abs(np.log10(fp) - np.log10(fd)))),
        "kernel_w1_units": wasserstein1(data["mu_spectrum"], pred["mu_spectrum"]),
        "kernel_w1_ticks": wasserstein1(data["nu_spectrum"], pred["nu_spectrum"]),
    }


def model_statistics(model, params, shape, triplets, patterns, *, n_model_samples, seed=0,
                     burn_in=200, start=None):
    """Predicted statistics of a fitted model for data of ``shape`` = (R, N, T).

    Parameters
    ----------
    model : {"maxent", "lft", "kinetic"}
    params : dict
        ``h``, ``J`` and optionally ``K``, ``u``.
    shape : tuple
        Shape of the data to compare with (T sets the lattice length).
    triplets, patterns : numpy.ndarray
        As in :func:`.statistics.sample_statistics`.
    n_model_samples : int
        Approximate number of (replica, tick) samples to draw.
    seed : int
    burn_in : int
        Heat-bath sweeps before the samples are taken.
    start : numpy.ndarray, int8, shape (R', N, T'), optional
        Configurations to start the chains from (e.g. training data), cut and tiled to the
        sampled shape; default independent draws from h.

    Returns
    -------
    stats : dict
    how : str
        ``"exact enumeration"``, ``"engine heat bath"`` or ``"forward simulation"``.
    """
    _, n, T = shape
    h, J = params["h"], params["J"]
    u = params.get("u")
    if model == "maxent" and u is None and n <= EXACT_STATS_UNITS:
        from .exact import maxent_distribution
        states, p = maxent_distribution(h, J)
        return st.distribution_statistics(states, p, triplets, patterns, T), "exact enumeration"
    reps = max(shape[0], int(np.ceil(n_model_samples / (2 * T))), 2)
    if model == "kinetic":
        s = sample_kinetic(h, J, n_ticks=T, n_trials=2 * reps, seed=seed)
        return st.sample_statistics(s, triplets, patterns), "forward simulation"
    K = params.get("K") if model == "lft" else None
    spins = None if start is None else _data_start(start, reps, T)
    s, _, _ = sample_lattice(h, J, K, n_ticks=T, n_replicas=reps, u=u, burn_in=burn_in,
                             n_snapshots=2, spacing=burn_in // 2, seed=seed, spins=spins)
    stats = st.sample_statistics(s, triplets, patterns)
    stats["drift_z"] = _drift(s[:reps], s[reps:])
    return stats, "engine heat bath"


def _drift(first, second, n_blocks=8):
    """max_i |m_i(second) - m_i(first)| in standard errors.

    Both snapshots come from the same chains, ``burn_in / 2`` sweeps apart. The error comes
    from the spread of the change over replicas x ``n_blocks`` time blocks of each replica, so
    even a few long replicas give a usable estimate. A value above the 1 % Bonferroni bound
    for N units says the chains were still relaxing.
    """
    r, n, t = first.shape
    b = max(1, min(n_blocks, t // 4))
    cut = (t // b) * b
    d = (second[:, :, :cut].astype(np.float64) - first[:, :, :cut])
    d = d.reshape(r, n, b, -1).mean(axis=3).transpose(0, 2, 1).reshape(r * b, n)
    se = d.std(axis=0, ddof=1) / np.sqrt(d.shape[0])
    return float(np.max(np.abs(d.mean(axis=0)) / np.maximum(se, 1e-12)))


def _arrays(data, pred, indep):
    """Arrays for plots: data vs model vs independent for every statistic."""
    keys = ("rates", "corr", "lag1", "triplets", "pk", "patterns", "mu_spectrum", "nu_spectrum")
    return {key: {"data": data[key], "model": pred[key], "independent": indep[key]}
            for key in keys}


def validate(model, params, train, heldout, *, n_model_samples=None, seed=0,
             compare_maxent=True, n_patterns=st.N_PATTERNS):
    """Validate fitted ``params`` of ``model`` on held-out data.

    Parameters
    ----------
    model : {"maxent", "lft", "kinetic"}
    params : dict
        ``h``, ``J``, optionally ``K``, ``u``.
    train, heldout : FitData
    n_model_samples : int, optional
        Samples drawn from each sampled model (default max(2 x held-out samples, 10000)).
    seed : int
    compare_maxent : bool
        For lft: also fit maxent (pseudo-likelihood) on ``train`` and validate it.
    n_patterns : int

    Returns
    -------
    dict
        Top-level ``rate_corr``, ``corr_corr``, ``lag1_corr``, ``pk_w1``, ``heldout_pll`` (of
        the fitted model); ``model``, ``independent``, ``train_vs_heldout`` and, for lft,
        ``maxent`` (each a :func:`compare` dict plus ``heldout_pll``); ``beats_independent``
        (per-metric booleans: higher correlations / pll, lower errors); ``arrays`` (for plots);
        ``n_heldout_samples``, ``n_model_samples``, ``sampler``; ``sampler_drift_z`` (largest
        change of a unit's magnetisation between two snapshots burn_in/2 sweeps apart, in
        standard errors; None for exact or forward sampling) and ``equilibrated`` (that change
        is below the 1 % Bonferroni bound for N units); ``noise_ratio`` (model RMS error over
        the train-vs-held-out RMS difference for ``rate``, ``corr`` and, for lft and kinetic,
        ``lag1``) and ``reproduces`` (every ratio at most :data:`REPRODUCE_FACTOR`).
    """
    n = heldout.n_units
    if n_model_samples is None:
        n_model_samples = max(2 * heldout.n_samples, 10000)
    triplets = st.choose_triplets(n, seed)
    patterns = st.top_patterns(heldout.spins, n_patterns)
    data = st.sample_statistics(heldout.spins, triplets, patterns)
    train_stats = st.sample_statistics(train.spins, triplets, patterns)
    m_train = train.spins.mean(axis=(0, 2), dtype=np.float64)
    indep = st.independent_statistics(m_train, triplets, patterns, heldout.n_ticks)
    pred, how = model_statistics(model, params, heldout.spins.shape, triplets, patterns,
                                 n_model_samples=n_model_samples, seed=seed,
                                 start=train.spins)
    h_ind = np.arctanh(np.clip(m_train, -1 + 1e-9, 1 - 1e-9))
    pll_model = pseudo_loglik(heldout, model, params["h"], params["J"], params.get("K"),
                              params.get("u"))[0]
    pll_ind = pseudo_loglik(heldout, "maxent", h_ind, np.zeros((n, n)))[0]
    out = {"model": {**compare(data, pred), "heldout_pll": pll_model},
           "independent": {**compare(data, indep), "heldout_pll": pll_ind},
           "train_vs_heldout": compare(data, train_stats)}
    if model == "lft" and compare_maxent:
        fit_me = fit_pseudolikelihood(train, "maxent")
        pred_me, _ = model_statistics("maxent", fit_me, heldout.spins.shape, triplets, patterns,
                                      n_model_samples=n_model_samples, seed=seed + 1,
                                      start=train.spins)
        out["maxent"] = {**compare(data, pred_me),
                         "heldout_pll": pseudo_loglik(heldout, "maxent", fit_me["h"],
                                                      fit_me["J"])[0]}
    better = {}
    for key, value in out["model"].items():
        ref = out["independent"][key]
        higher = key.endswith("_corr") or key == "heldout_pll"
        better[key] = bool(value > ref) if higher else bool(value < ref)
    out.update({key: out["model"][key] for key in SUMMARY_KEYS})
    out["beats_independent"] = better
    out["arrays"] = _arrays(data, pred, indep)
    out["n_heldout_samples"] = int(heldout.n_samples)
    out["n_model_samples"] = int(pred["n_samples"]) if pred.get("n_samples") else None
    out["sampler"] = how
    drift = pred.get("drift_z")
    bound = float(sps.norm.isf(0.005 / n))
    out["sampler_drift_z"] = drift
    out["equilibrated"] = True if drift is None else bool(drift <= bound)
    keys = ("rate", "corr") + (("lag1",) if model in ("lft", "kinetic") else ())
    noise = out["train_vs_heldout"]
    ratio = {k: out["model"][f"{k}_rmse"] / max(noise[f"{k}_rmse"], _FLOOR) for k in keys}
    out["noise_ratio"] = ratio
    out["reproduces"] = bool(all(r <= REPRODUCE_FACTOR for r in ratio.values()))
    return out
