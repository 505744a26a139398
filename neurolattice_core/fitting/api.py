"""One entry point: fit a model to a recording, check the data, validate on held-out data.

    result = fit(raster, model="lft", method="pl", bin_ms=20)

Models (MODEL.md section 5): ``maxent`` (static pairwise Ising, K = 0), ``lft`` (h_i, J_ij,
K_i, optional drive u_t) and ``kinetic`` (Roudi-Hertz, asymmetric J). Methods: ``pl``
(pseudo-likelihood, default), ``mf`` (mean-field / TAP), ``bm`` (Boltzmann learning from the pl
fit), ``exact`` (enumeration, maxent with N <= 20; for kinetic the pl fit *is* the exact
conditional maximum likelihood). Conventions: spins +-1, theta = 1 absorbed in the parameters,
so (h, J, K) plug into :class:`~neurolattice_core.model.LatticeModel` with temperature 1
(:func:`.io.to_lattice_model`).

Which method: ``pl`` is fast and consistent for data of the model's family, but on real
populations (synchrony beyond pairs, stimulus locking) its sampled model can miss the data;
validation then says so (``validation["reproduces"]`` False, ``success`` False, a warning) and
``bm``, started from the pl fit, is the refinement (example50 maxent: 6 s; Onken lft with the
drive: about 25 s; both reproduce the held-out rates and correlations within the split noise).
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import FitError
from .boltzmann import fit_boltzmann
from .data import FitData, unit_problems
from .drive import TIME_LOCKED, time_locking_statistic
from .exact import MAX_EXACT_UNITS, fit_exact
from .meanfield import fit_meanfield
from .pseudolikelihood import MODELS, fit_pseudolikelihood
from .validation import REPRODUCE_FACTOR, validate

__all__ = ["FitResult", "fit", "METHODS", "MODELS"]

#: The held-out statistics a fit must do better in than the independent model, and their words.
INDEPENDENT_CRITERIA = {
    "heldout_pll": "pseudo-log-likelihood per sample, higher is better",
    "corr_rmse": "RMS error of the model's pairwise correlations (the independent model "
                 "predicts 0), lower is better",
}

METHODS = ("pl", "mf", "bm", "exact")
MIN_DRIVE_TRIALS = 4
"""Fewest aligned training trials for which ``drive="auto"`` fits a drive u_t."""


@dataclass
class FitResult:
    """A fitted model with its provenance, diagnostics and validation.

    Attributes
    ----------
    model : str
        ``"maxent"``, ``"lft"`` or ``"kinetic"``.
    method : str
        ``"pl"``, ``"mf"``, ``"bm"`` or ``"exact"``.
    h : numpy.ndarray, float64, shape (N,)
        Fields h_i (theta = 1).
    J : numpy.ndarray, float64, shape (N, N)
        Couplings: symmetric with zero diagonal (maxent, lft); J[i, j] = influence of s_j,t on
        s_i,t+1 (kinetic, diagonal included).
    K : numpy.ndarray, float64, shape (N,) or None
        Temporal couplings (lft).
    u : numpy.ndarray, float64, shape (T,) or None
        Common time-locked drive (mean zero), if fitted.
    n_units, n_samples, n_heldout, n_ticks : int
        Units, training samples (trial x tick), held-out samples, ticks per trial.
    bin_ms : float or None
    units : numpy.ndarray, int64, shape (N,)
        Indices of the fitted units in the recording.
    regularization : dict
        Rule and per-sample L2 strength.
    diagnostics : dict
        ``converged``, ``iterations``, ``seconds`` (wall time of the whole call), ``warnings``
        (list of str), ``validated`` and method-specific entries.
    validation : dict or None
        :func:`.validation.validate` output (None with holdout=0).
    provenance : dict
    J_se, K_se : numpy.ndarray or None
        Clustered sandwich standard errors (pseudo-likelihood, :mod:`.sandwich`).
    """

    model: str
    method: str
    h: np.ndarray
    J: np.ndarray
    K: np.ndarray | None
    u: np.ndarray | None
    n_units: int
    n_samples: int
    n_heldout: int
    n_ticks: int
    bin_ms: float | None
    units: np.ndarray
    regularization: dict
    diagnostics: dict
    validation: dict | None = None
    provenance: dict = field(default_factory=dict)
    J_se: np.ndarray | None = None
    K_se: np.ndarray | None = None

    @property
    def converged(self):
        """True when the optimiser met its stopping rule."""
        return bool(self.diagnostics.get("converged", False))

    @property
    def warnings(self):
        """Warnings collected while checking the data and fitting (list of str)."""
        return self.diagnostics.setdefault("warnings", [])

    @property
    def success(self):
        """Converged, validated, and its samples reproduce the held-out data.

        A fit that cannot be validated is not a success, nor is one whose sampled rates,
        correlations (and lag-1 correlations for lft/kinetic) miss the held-out data by more
        than the validation's noise bound (``validation["reproduces"]``).
        """
        return (self.converged and bool(self.diagnostics.get("validated", False))
                and bool(self.diagnostics.get("reproduces_data", False)))

    @property
    def seconds(self):
        """Wall time of the fit call (s)."""
        return float(self.diagnostics.get("seconds", 0.0))


def _as_data(data, bin_ms, provenance):
    from ..recordings.binning import BinnedRecording
    from ..recordings.recording import Recording

    if isinstance(data, Recording):
        raise FitError("fit takes binned spikes: bin the recording first, "
                       "fit(bin_recording(recording, bin_ms / 1000), ...), or pass a raster")
    if isinstance(data, BinnedRecording):
        binned_ms = 1000.0 * float(data.bin_s)
        if bin_ms is not None and not math.isclose(float(bin_ms), binned_ms, rel_tol=1e-9):
            raise FitError(f"bin_ms={bin_ms:g} but the binned recording has {binned_ms:g} ms "
                           f"bins: leave bin_ms out, or bin it again with "
                           f"bin_recording(recording, {float(bin_ms) / 1000:g})")
        return FitData.from_binned(data, provenance=provenance)
    if isinstance(data, FitData):
        if bin_ms is not None and data.bin_ms is None:
            data = FitData(data.spins, bin_ms=bin_ms, units=data.units, aligned=data.aligned,
                           provenance={**data.provenance, **(provenance or {})})
        return data
    return FitData.from_raster(data, bin_ms=bin_ms, provenance=provenance)


def _check_init(init, n, model):
    """Refuse a starting point that is not h (n,), J (n, n) and, for lft, an optional K (n,)."""
    if init is None:
        return
    shapes = {"h": (n,), "J": (n, n)} | ({"K": (n,)} if model == "lft" else {})
    if not isinstance(init, dict) or not {"h", "J"} <= init.keys():
        raise FitError(f"init must be a dict with 'h' ({n},) and 'J' ({n}, {n}) for the {n} "
                       "fitted units (and 'K' for lft), e.g. a previous FitResult's arrays")
    for key, shape in shapes.items():
        if init.get(key) is None:
            continue
        value = np.asarray(init[key])
        if value.shape != shape or not np.all(np.isfinite(value)):
            raise FitError(f"init[{key!r}] must be {shape} finite numbers for the {n} fitted "
                           f"units; got shape {value.shape}")


def _check_units(data, drop_inactive, warnings, where):
    problems = unit_problems(data)
    bad = np.union1d(problems["silent"], problems["always_on"])
    if bad.size:
        labels = data.units[bad].tolist()
        if not drop_inactive:
            raise FitError(f"units {labels} never spike or spike in every bin of the {where} "
                           "data, so their fields are infinite: drop them "
                           "(drop_units=[...]) or pass drop_inactive=True")
        warnings.append(f"dropped units {labels}: silent or always on in the {where} data")
        data = data.select_units(np.setdiff1d(np.arange(data.n_units), bad))
    return data, problems["duplicates"]


def fit(data, *, model="lft", method="pl", bin_ms=None, holdout=0.2, split="auto",
        regularization=None, drive="auto", init=None, validate_fit=True, n_model_samples=None,
        drop_units=None, drop_inactive=False, max_iter=None, seed=0, provenance=None):
    """Fit ``model`` to a recording with ``method`` and validate it on held-out data.

    Parameters
    ----------
    data : FitData, BinnedRecording or array_like
        A :class:`FitData`, a binned recording (:func:`.recordings.bin_recording`; its bin
        width is used) or a raster of shape (R, N, T) (trials x units x ticks) or (N, T):
        0/1, booleans, spike counts or int8 spins.
    model : {"maxent", "lft", "kinetic"}
    method : {"pl", "mf", "bm", "exact"}
    bin_ms : float, optional
        Bin width in ms (recorded in the result).
    holdout : float
        Fraction of trials (or time blocks) held out for validation; 0 skips validation.
    split : {"auto", "trials", "blocks"}
        See :meth:`FitData.split`.
    regularization : float, optional
        Per-sample L2 strength on couplings (default 1 / n_samples, see
        :mod:`.pseudolikelihood`).
    drive : bool or "auto"
        Fit a common time-locked drive u_t (maxent, lft; aligned trials; pl and bm). "auto"
        (default): for lft with pl or bm when the training data are at least
        ``MIN_DRIVE_TRIALS`` aligned trials whose trial-averaged population activity is
        time-locked (:func:`.drive.time_locking_statistic` above ``TIME_LOCKED``, i.e. a
        repeated stimulus drives it). A stimulus-driven recording fitted without the drive puts
        the stimulus-locked modulation into K and J, and the sampled model misses the kernel
        m_it and the rates (Onken Movie1Exp2: rate RMS error 8x the split noise by pl, 10x
        by bm, which does not converge without the drive).
    init : dict, optional
        Starting point (``h``, ``J``, ``K``) for pl and bm.
    validate_fit : bool
        Run the held-out validation (sampling the fitted model).
    n_model_samples : int, optional
        Samples drawn from the model for validation (see :func:`.validation.validate`).
    drop_units : sequence of int, optional
        Units (indices into the recording) to leave out, e.g. one of each near-duplicate pair.
    drop_inactive : bool
        Drop silent and always-on units (with a warning) instead of refusing.
    max_iter : int, optional
        Iteration guard of the optimiser (method default if None).
    seed : int
        Seed of every random draw (model sampling).
    provenance : dict, optional
        Description of the source, stored in the result.

    Returns
    -------
    FitResult

    Raises
    ------
    FitError
        Unknown model/method, unusable data (silent units, too few samples, too short trials),
        or a fit that produced non-finite parameters.
    """
    start = time.perf_counter()
    if model not in MODELS:
        raise FitError(f"model must be one of {', '.join(MODELS)}; got {model!r}")
    if method not in METHODS:
        raise FitError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if method in ("exact", "bm") and model == "kinetic":
        raise FitError(f"method={method!r} does not apply to the kinetic model: its "
                       "pseudo-likelihood is its exact conditional likelihood, so method='pl' "
                       "gives that fit")
    data = _as_data(data, bin_ms, provenance)
    warnings = []
    if drop_units is not None:
        drop = np.asarray(drop_units).ravel() if not isinstance(drop_units, str) else None
        if drop is None or (drop.size and (drop.dtype.kind not in "iu"
                                           or not np.all(np.isin(drop, data.units)))):
            raise FitError(f"drop_units={drop_units!r}: give a list of the data's units "
                           f"({data.units.min()}..{data.units.max()}), e.g. drop_units=[3, 7]")
        data = data.select_units(np.flatnonzero(~np.isin(data.units, drop)))
    if data.n_units < 2:
        raise FitError(f"a pairwise fit needs at least 2 units, got {data.n_units}")
    min_ticks = {"maxent": 1, "lft": 3, "kinetic": 2}[model]
    if data.n_ticks < min_ticks:
        raise FitError(f"the {model} model needs trials of at least {min_ticks} ticks")
    data, dups = _check_units(data, drop_inactive, warnings, "recorded")
    for i, j, c in dups:
        warnings.append(f"units {int(data.units[i])} and {int(data.units[j])} are near "
                        f"duplicates (equal-time correlation {c:.2f}): their coupling is large "
                        "and poorly determined; consider dropping one (drop_units)")
    if holdout and validate_fit:
        train, heldout = data.split(holdout, by=split)
    else:
        train, heldout = data, None
    train, _ = _check_units(train, drop_inactive, warnings, "training")
    if heldout is not None and heldout.n_units != train.n_units:
        heldout = heldout.select_units(np.flatnonzero(np.isin(heldout.units, train.units)))
    n = train.n_units
    _check_init(init, n, model)
    n_params = n + (1 if model == "lft" else 0) + (1 if model == "kinetic" else 0)
    if train.n_samples < n_params:
        raise FitError(f"{train.n_samples} training samples for {n_params} parameters per "
                       "unit: record longer, bin finer or fit fewer units")
    if train.n_samples < 10 * n_params:
        warnings.append(f"only {train.n_samples} training samples for {n_params} parameters "
                        "per unit: couplings are dominated by the regularisation prior")
    iters = {} if max_iter is None else {"max_iter": int(max_iter)}
    method_used = method
    locking = (time_locking_statistic(train.spins)
               if train.aligned and train.n_trials >= MIN_DRIVE_TRIALS else None)
    if drive == "auto":
        drive = (model == "lft" and method_used in ("pl", "bm") and locking is not None
                 and locking > TIME_LOCKED)
    elif not isinstance(drive, (bool, np.bool_)):
        raise FitError(f"drive must be True, False or 'auto'; got {drive!r}")
    drive = bool(drive)
    if drive and method_used in ("mf", "exact"):
        raise FitError(f"method {method_used!r} has no drive u_t; use method 'pl' or 'bm' with "
                       "drive=True")
    if method_used == "pl":
        res = fit_pseudolikelihood(train, model, regularization=regularization, drive=drive,
                                   init=init, **iters)
    elif method_used == "mf":
        res = fit_meanfield(train, model)
    elif method_used == "exact":
        if model != "maxent":
            raise FitError("exact maximum likelihood is available for maxent (N <= "
                           f"{MAX_EXACT_UNITS}); lft couples every tick of a trial, so use pl "
                           "or bm")
        res = fit_exact(train, regularization=regularization, init=init, **iters)
    else:
        start_fit = init or fit_pseudolikelihood(train, model, regularization=regularization,
                                                 drive=drive)
        res = fit_boltzmann(train, model, start_fit, regularization=regularization, seed=seed,
                            **iters)
    diag = dict(res["diagnostics"])
    warnings.extend(diag.pop("warnings", []))
    diag["fit_seconds"] = diag.pop("seconds", None)
    validation = None
    if heldout is not None:
        validation = validate(model, res, train, heldout, n_model_samples=n_model_samples,
                              seed=seed)
        if not validation["equilibrated"]:
            warnings.append(
                "the fitted model's samples were still drifting after the burn-in (magnetisation "
                f"change {validation['sampler_drift_z']:.1f} standard errors): its predicted "
                "statistics are not equilibrium values (slow mixing, e.g. strongly coupled or "
                "near-duplicate units, or a spurious ordered phase); consider method='bm' or "
                "dropping near-duplicate units")
        if not validation["reproduces"]:
            ratios = ", ".join(f"{k} {r:.1f}x" for k, r in validation["noise_ratio"].items())
            if method_used == "pl" and model != "kinetic":
                hint = ("pseudo-likelihood matches conditionals, not the joint statistics: use "
                        "method='bm' (Boltzmann learning from this fit)")
            elif method_used == "mf":
                hint = "mean-field inversions are approximate: use method 'pl' or 'bm'"
            else:
                hint = ("the model family does not describe these data (e.g. stimulus-locked "
                        "activity without a drive, lagged cross-correlations, synchrony beyond "
                        "pairs)")
            warnings.append(
                "sampled, the fitted model does not reproduce the held-out data (RMS error over "
                f"the split's noise: {ratios}; bound {REPRODUCE_FACTOR:g}x); {hint}")
        beats = validation["beats_independent"]
        fit_values, independent = validation["model"], validation["independent"]
        failed = [f"{INDEPENDENT_CRITERIA[key]} ({fit_values[key]:.4g} against "
                  f"{independent[key]:.4g})" for key in INDEPENDENT_CRITERIA if not beats[key]]
        if failed:
            warnings.append("on held-out data the fit does worse than the independent model "
                            f"in: {'; '.join(failed)}")
    else:
        warnings.append("not validated (holdout=0 or validate_fit=False)")
    diag["validated"] = validation is not None
    diag["reproduces_data"] = bool(validation is not None and validation["reproduces"])
    diag["drive"] = drive
    diag["time_locking"] = locking
    diag["warnings"] = warnings
    diag["method_used"] = method_used
    diag["seconds"] = time.perf_counter() - start
    return FitResult(model=model, method=method, h=res["h"], J=res["J"], K=res.get("K"),
                     u=res.get("u"), n_units=n, n_samples=train.n_samples,
                     n_heldout=0 if heldout is None else heldout.n_samples,
                     n_ticks=data.n_ticks, bin_ms=train.bin_ms, units=train.units,
                     regularization=res["regularization"], diagnostics=diag,
                     validation=validation, provenance=dict(train.provenance),
                     J_se=res.get("J_se"), K_se=res.get("K_se"))
