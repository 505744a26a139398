"""Critical lines of the (J/theta, K/theta) phase diagram and a fitted recording's place on it.

Critical lines (MODEL.md section 3), both at h = 0, as the critical equal-time coupling
J_c/theta for a given temporal coupling K/theta:

- ``"ring"`` x time (E2, the anisotropic 2-D Ising model, infinite lattice):
  ``sinh(2 J/theta) sinh(2 |K|/theta) = 1``, i.e.
  ``J_c/theta = asinh(1 / sinh(2 |K|/theta)) / 2`` (infinite at K = 0: a ring alone does not
  order). A finite N x T torus has no sharp transition; the line is where it becomes one as
  N, T grow.
- ``"all-to-all"`` with temporal coupling (E5, mean field in space, exact chains in time): ordered
  when ``(J/theta) chi_T > 1`` with ``chi_T = (1+tau)(1-tau^T) / ((1-tau)(1+tau^T))``,
  ``tau = tanh(K/theta)``, for a periodic time axis of T ticks; for T -> infinity
  ``chi = exp(2K/theta)`` and the line is ``(J/theta) exp(2K/theta) = 1``.

A fitted recording (lft model, theta = 1 absorbed in the parameters) is placed with the
convention of the diagram it is drawn on (:func:`point_from_summary`):

- all-to-all diagram (J_ij = J/N): ``J/theta = n <J_ij>``, the per-population coupling of the n
  fitted units, n times the mean over pairs i < j (the ``J_eff`` of MODEL.md section 6: the
  model with J_ij = J/n has the same mean coupling);
- ring diagram (J_ij = J for the two neighbours): ``J/theta = (n - 1) <J_ij> / 2``, the ring
  coupling giving each unit the same total coupling sum_j J_ij (a mean-field equivalence only:
  recorded units have no ring geometry);
- ``K/theta = <K_i>``, the mean over units.

Error bars are standard errors of these means from the fit's standard errors (pairs and units
treated as independent), scaled by the same factors. The mean field h of the recording is
reported alongside: the diagram itself is drawn at h = 0.
"""

import numpy as np

from .errors import ParameterError

__all__ = ["CRITICAL_LINES", "OBSERVABLES", "ring_critical_J", "all_to_all_critical_J",
           "critical_line", "is_ordered", "point_from_summary", "recording_point", "sweep_grid"]

CRITICAL_LINES = ("ring", "all-to-all")
OBSERVABLES = ("abs_magnetization", "binder", "susceptibility", "q_ea")


def _check_theta(theta):
    if not theta > 0:
        raise ParameterError(f"theta must be > 0; got {theta}")


def ring_critical_J(K, theta=1.0):
    """Critical J of the ring x time model (MODEL.md E2): sinh(2J/theta) sinh(2|K|/theta) = 1.

    Parameters
    ----------
    K : float or array_like
        Temporal coupling(s), same units as theta.
    theta : float
        Temperature (> 0).

    Returns
    -------
    numpy.ndarray or float
        J_c (same units as K); ``inf`` at K = 0.
    """
    _check_theta(theta)
    k = np.abs(np.asarray(K, float)) / theta
    with np.errstate(divide="ignore"):
        value = theta * 0.5 * np.arcsinh(1.0 / np.sinh(2.0 * k))
    return value.item() if np.ndim(value) == 0 else value


def all_to_all_critical_J(K, theta=1.0, ticks=None):
    """Critical J of the all-to-all model with temporal coupling (MODEL.md E5).

    Parameters
    ----------
    K : float or array_like
        Temporal coupling(s), same units as theta.
    theta : float
        Temperature (> 0).
    ticks : int, optional
        T of a periodic time axis; None for T -> infinity (``J_c = theta exp(-2K/theta)``).

    Returns
    -------
    numpy.ndarray or float
        J_c = theta / chi_T (the per-population coupling, J_ij = J/N).
    """
    _check_theta(theta)
    k = np.asarray(K, float) / theta
    if ticks is None:
        value = theta * np.exp(-2.0 * k)
    else:
        if int(ticks) != ticks or ticks < 1:
            raise ParameterError(f"ticks must be an integer >= 1; got {ticks}")
        tau = np.tanh(k)
        chi = (1 + tau) * (1 - tau ** int(ticks)) / ((1 - tau) * (1 + tau ** int(ticks)))
        value = theta / chi
    return value.item() if np.ndim(value) == 0 else value


def critical_line(connectivity, K, theta=1.0, ticks=None):
    """J_c(K) of a connectivity preset with an exact critical line (``CRITICAL_LINES``).

    ``ticks`` is used by the all-to-all line only (periodic time of T ticks; None: T -> inf).
    """
    if connectivity == "ring":
        return ring_critical_J(K, theta)
    if connectivity == "all-to-all":
        return all_to_all_critical_J(K, theta, ticks)
    raise ParameterError(f"no exact critical line is known for connectivity {connectivity!r}; "
                         f"the diagram draws one for {CRITICAL_LINES}")


def is_ordered(connectivity, J, K, theta=1.0, ticks=None):
    """True where (J, K) lies on the ordered side of the critical line (J > J_c(K), J > 0)."""
    return np.asarray(J, float) > critical_line(connectivity, K, theta, ticks)


def point_from_summary(summary, connectivity="all-to-all"):
    """The (J/theta, K/theta) point of a fit summary on a diagram (module docstring).

    Parameters
    ----------
    summary : dict
        :func:`~neurolattice_core.renormalization.summarize_fit` output of an lft fit
        (``n_units``, ``mean_J``, ``mean_J_err``, ``mean_K``, ``mean_K_err``, ``mean_h``,
        ``mean_h_err``).
    connectivity : {"all-to-all", "ring"}
        The diagram's model, which fixes the J convention.

    Returns
    -------
    dict
        ``J``, ``J_err``, ``K``, ``K_err``, ``h``, ``h_err`` (theta = 1 units), ``n_units``,
        ``connectivity`` and ``convention`` (a sentence for legends and reports).
    """
    if connectivity not in CRITICAL_LINES:
        raise ParameterError(f"a recording is placed on the {CRITICAL_LINES} diagrams; got "
                             f"{connectivity!r}")
    K = summary.get("mean_K")
    if K is None or not np.isfinite(K):
        raise ParameterError("the fit has no temporal coupling K (maxent or kinetic model); "
                             "fit the lft model to place the recording on the diagram")
    n = int(summary["n_units"])
    if connectivity == "all-to-all":
        scale, convention = float(n), f"J/θ = n·<J_ij> (n = {n} units), K/θ = <K_i>"
    else:
        scale, convention = (n - 1) / 2.0, f"J/θ = (n-1)·<J_ij>/2 (n = {n}), K/θ = <K_i>"
    return {"J": scale * summary["mean_J"], "J_err": scale * summary["mean_J_err"],
            "K": float(K), "K_err": float(summary["mean_K_err"]),
            "h": float(summary["mean_h"]), "h_err": float(summary["mean_h_err"]),
            "n_units": n, "connectivity": connectivity, "convention": convention}


def recording_point(fit_result, connectivity="all-to-all"):
    """The point of a :class:`~neurolattice_core.fitting.api.FitResult` (lft) on a diagram.

    See :func:`point_from_summary`; raises :class:`ParameterError` for a model without K.
    """
    from .renormalization import summarize_fit

    if fit_result.model != "lft":
        raise ParameterError(f"a {fit_result.model} fit has no temporal coupling K; fit the lft "
                             "model to place the recording on the (J/θ, K/θ) diagram")
    return point_from_summary(summarize_fit(fit_result), connectivity)


def sweep_grid(records, observable="abs_magnetization"):
    """Arrange sweep records (one field value) as images over the (J, K) grid.

    Parameters
    ----------
    records : list of dict
        :func:`~neurolattice_core.sweeps.run_sweep` records of a grid sweep.
    observable : str
        One of ``OBSERVABLES``.

    Returns
    -------
    J : numpy.ndarray, float64, shape (nJ,)
        Sorted distinct J/theta values.
    K : numpy.ndarray, float64, shape (nK,)
        Sorted distinct K/theta values.
    values, errors : numpy.ndarray, float64, shape (nK, nJ)
        The observable and its error at (K[a], J[b]); NaN where a point failed, was cancelled
        or is missing.
    """
    if observable not in OBSERVABLES:
        raise ParameterError(f"observable must be one of {OBSERVABLES}; got {observable!r}")
    if not records:
        raise ParameterError("the sweep has no records")
    if len({r["h"] for r in records}) > 1:
        raise ParameterError("the sweep has several fields h; pick one before drawing (J, K)")
    J = np.array(sorted({float(r["J"]) for r in records}))
    K = np.array(sorted({float(r["K"]) for r in records}))
    values = np.full((K.size, J.size), np.nan)
    errors = np.full((K.size, J.size), np.nan)
    for r in records:
        if r.get("status") == "ok":
            a, b = np.searchsorted(K, r["K"]), np.searchsorted(J, r["J"])
            values[a, b], errors[a, b] = r[observable], r[observable + "_err"]
    return J, K, values, errors
