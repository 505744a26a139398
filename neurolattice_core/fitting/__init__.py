"""Fitting the lattice field theory to recordings (MODEL.md section 5).

Modules: :mod:`.data` (FitData, split, merged design rows), :mod:`.newton` (per-neuron Newton
kernels), :mod:`.pseudolikelihood` (pl for maxent, lft, kinetic), :mod:`.meanfield` (naive and
TAP inversions), :mod:`.exact` (enumeration, N <= 20), :mod:`.boltzmann` (moment matching with
the engine), :mod:`.sampling` (drawing from fitted models), :mod:`.statistics` and
:mod:`.validation` (held-out comparison and generative check), :mod:`.sandwich` (clustered
sandwich standard errors), :mod:`.uncertainty` (jackknife), :mod:`.drive` (time-locked drive
u_t), :mod:`.synthetic` (known models for tests and benchmarks), :mod:`.io` (fit files,
LatticeModel export), :mod:`.api` (:func:`fit`).
"""

from .api import METHODS, MODELS, FitResult, fit
from .data import FitData
from .io import fit_from_json, fit_to_json, lattice_fields, load_fit, save_fit, to_lattice_model

__all__ = ["FitData", "FitResult", "METHODS", "MODELS", "fit", "fit_from_json", "fit_to_json",
           "lattice_fields", "load_fit", "save_fit", "to_lattice_model"]
