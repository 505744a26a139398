"""Thermodynamic estimators with error bars: energy, |m|, specific heat, susceptibility, Binder.

Conventions (MODEL.md section 4)
--------------------------------
``e`` is the energy per site ``E / n_sites`` and ``m`` the magnetisation per site
``mean_{i,t} s_it`` of one configuration; ``n_sites = N T``. Averages ``<.>`` run over all
samples of all replicas (replicas are pooled: they must sample the same distribution).

- specific heat per site ``C = var(E) / (n_sites theta**2) = n_sites var(e) / theta**2``;
- susceptibility per site ``chi = n_sites (<m**2> - <|m|>**2) / theta`` (the finite-lattice
  estimator valid on both sides of a transition, since ``<m> = 0`` by symmetry on a finite
  lattice), and ``chi_symmetric = n_sites <m**2> / theta`` (the paramagnetic-phase estimator,
  equal to the true susceptibility when ``<m> = 0``; it diverges with n_sites when ordered);
- Binder cumulant ``U4 = 1 - <m**4> / (3 <m**2>**2)``: 0 for Gaussian m, 2/3 for ``m = +-m0``.

Errors of means come from blocking (:func:`~.statistics.blocking_mean_error`); errors of derived
quantities from a blocked jackknife (:func:`~.statistics.jackknife`) with blocks of about
10 tau_int samples, each (replica, block) pair being one jackknife unit.
"""

import math
import warnings

import numpy as np

from neurolattice_core.errors import ParameterError
from neurolattice_core.observables.statistics import (
    AutocorrelationWarning,
    as_series,
    blocking_mean_error,
    integrated_autocorrelation_time,
    jackknife,
)

__all__ = [
    "specific_heat",
    "susceptibility",
    "binder_cumulant",
    "thermodynamic_summary",
]


#: Fewer jackknife blocks than this make the derived errors (C, chi, Binder) unreliable.
MIN_JACKKNIFE_BLOCKS = 10


def _check_sites_theta(n_sites, theta):
    if int(n_sites) != n_sites or n_sites < 1:
        raise ParameterError(f"n_sites must be a positive integer (N*T); got {n_sites}")
    if not (np.isfinite(theta) and theta > 0):
        raise ParameterError(f"theta must be a finite temperature > 0; got {theta}")
    return int(n_sites), float(theta)


def specific_heat(energy_per_site, n_sites, theta, block_size=None):
    """Specific heat per site ``n_sites var(e) / theta**2`` with a jackknife error.

    Parameters
    ----------
    energy_per_site : array_like, shape (n,) or (R, n)
        Energy per site of successive configurations.
    n_sites : int
        Number of spins N*T of one configuration.
    theta : float
        Temperature (> 0).
    block_size : int, optional
        Jackknife block size (default about 10 tau_int).

    Returns
    -------
    value, err : float
    """
    n_sites, theta = _check_sites_theta(n_sites, theta)
    e = as_series(energy_per_site, name="energy_per_site", min_length=2)
    e = e - e.mean()  # shift for numerical stability; the variance is unchanged
    return jackknife(
        # divided by theta twice: theta**2 of a float raises OverflowError beyond 1e154
        lambda e1, e2: n_sites * (e2 - e1**2) / theta / theta, e, e**2, block_size=block_size
    )


def susceptibility(magnetization, n_sites, theta, symmetric=False, block_size=None):
    """Susceptibility per site with a jackknife error.

    Parameters
    ----------
    magnetization : array_like, shape (n,) or (R, n)
        Magnetisation per site of successive configurations.
    n_sites : int
        Number of spins N*T of one configuration.
    theta : float
        Temperature (> 0).
    symmetric : bool
        False: ``n_sites (<m**2> - <|m|>**2) / theta``; True: ``n_sites <m**2> / theta``.
    block_size : int, optional
        Jackknife block size (default about 10 tau_int).

    Returns
    -------
    value, err : float
    """
    n_sites, theta = _check_sites_theta(n_sites, theta)
    m = as_series(magnetization, name="magnetization", min_length=2)
    if symmetric:
        return jackknife(lambda m2: n_sites * m2 / theta, m**2, block_size=block_size)
    return jackknife(
        lambda a, m2: n_sites * (m2 - a**2) / theta, np.abs(m), m**2, block_size=block_size
    )


def binder_cumulant(magnetization, block_size=None):
    """Binder cumulant ``1 - <m**4> / (3 <m**2>**2)`` with a jackknife error.

    Parameters
    ----------
    magnetization : array_like, shape (n,) or (R, n)
        Magnetisation series.
    block_size : int, optional
        Jackknife block size (default about 10 tau_int).

    Returns
    -------
    value, err : float
        NaN when ``m`` is identically zero.
    """
    m = as_series(magnetization, name="magnetization", min_length=2)
    return jackknife(lambda m2, m4: 1.0 - m4 / (3.0 * m2**2), m**2, m**4, block_size=block_size)


def thermodynamic_summary(energy_per_site_series, magnetization_series, n_sites, theta, c=5.0):
    """All thermodynamic estimators of one run, with errors and autocorrelation times.

    Parameters
    ----------
    energy_per_site_series : array_like, shape (n,) or (R, n)
        Energy per site after each sweep, for R replicas.
    magnetization_series : array_like, shape (n,) or (R, n)
        Magnetisation per site, same shape.
    n_sites : int
        Spins per configuration, N*T.
    theta : float
        Temperature (> 0).
    c : float
        Sokal window constant.

    Returns
    -------
    dict of float
        ``energy_per_site`` (+ ``_err``), ``abs_magnetization`` (+ ``_err``),
        ``specific_heat`` (+ ``_err``), ``susceptibility`` (+ ``_err``, with ``<|m|>``),
        ``susceptibility_symmetric`` (+ ``_err``, with ``<m**2>`` only), ``binder``
        (+ ``_err``), ``tau_int_energy``, ``tau_int_magnetization`` (of ``|m|``), and the
        integers ``n_replicas``, ``n_samples`` (per replica), ``block_size`` (jackknife).
        Errors of means: blocking pooled over replicas; derived quantities: jackknife.

    Warns
    -----
    AutocorrelationWarning
        When the series are too short for reliable errors.
    """
    n_sites, theta = _check_sites_theta(n_sites, theta)
    e = as_series(energy_per_site_series, name="energy_per_site_series", min_length=4)
    m = as_series(magnetization_series, name="magnetization_series", min_length=4)
    if e.shape != m.shape:
        raise ParameterError(
            f"energy and magnetisation series differ in shape: {e.shape} vs {m.shape}"
        )
    r, n = e.shape
    abs_m = np.abs(m)
    e_mean, e_err, tau_e = blocking_mean_error(e, c=c)
    m_mean, m_err, tau_m = blocking_mean_error(abs_m, c=c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AutocorrelationWarning)
        tau_m2 = integrated_autocorrelation_time(m**2, c=c)[0]
    block = min(n, max(1, math.ceil(10.0 * max(tau_e, tau_m, tau_m2))))
    if r * (n // block) < 2:
        block = n // 2
    units = r * (n // block)
    if units < MIN_JACKKNIFE_BLOCKS:
        wanted = math.ceil(MIN_JACKKNIFE_BLOCKS / r) * math.ceil(10.0 * max(tau_e, tau_m, tau_m2))
        warnings.warn(
            f"the errors of the specific heat, susceptibility and Binder cumulant rest on "
            f"{units} jackknife blocks of {block} samples (blocks of 10 tau_int, tau_int = "
            f"{max(tau_e, tau_m, tau_m2):.0f}): they are unreliable; measure about {wanted} "
            f"samples per replica, or use more replicas",
            AutocorrelationWarning,
            stacklevel=2,
        )
    cv, cv_err = specific_heat(e, n_sites, theta, block_size=block)
    chi, chi_err = susceptibility(m, n_sites, theta, block_size=block)
    chis, chis_err = susceptibility(m, n_sites, theta, symmetric=True, block_size=block)
    u4, u4_err = binder_cumulant(m, block_size=block)
    return {
        "energy_per_site": e_mean,
        "energy_per_site_err": e_err,
        "abs_magnetization": m_mean,
        "abs_magnetization_err": m_err,
        "specific_heat": cv,
        "specific_heat_err": cv_err,
        "susceptibility": chi,
        "susceptibility_err": chi_err,
        "susceptibility_symmetric": chis,
        "susceptibility_symmetric_err": chis_err,
        "binder": u4,
        "binder_err": u4_err,
        "tau_int_energy": tau_e,
        "tau_int_magnetization": tau_m,
        "n_replicas": r,
        "n_samples": n,
        "block_size": block,
    }
