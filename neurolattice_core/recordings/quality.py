"""Quality report of a binned recording: rates, silent, near-constant and duplicate units.

The report *proposes* exclusions; the user decides (``Recording.subset_units``).

- Rates: spikes per second of binned time, ``counts.sum / (R T bin_s)``; spike probability per
  bin ``p_i`` = mean of the binary field.
- Silent unit: no spike in the window. Near-constant unit: fewer than ``min_active_bins`` bins
  differ from its majority state (almost never or almost always active), which makes its field
  h_i unidentifiable in a fit.
- Near-duplicate pair: equal-time Pearson correlation of the binary fields (all trials and ticks
  pooled) at or above ``duplicate_threshold`` (default 0.7): typically one cell split into two
  clusters, or two tightly coupled cells. For sparse fields ``r ~ n_ij / sqrt(n_i n_j)``, the
  fraction of active bins the two units share (geometric mean), so ``r >= 0.7`` means they
  share most of their active bins; if unit j's active bins are a fraction f of unit i's,
  ``r ~ sqrt(f)``. A pairwise fit gives huge couplings for them. The unit with fewer
  spikes of each pair is proposed for exclusion (pairs taken by decreasing correlation).
- Stationarity statistic ``S_i`` of MODEL.md section 4 (computed by
  :func:`neurolattice_core.observables.stationarity_statistic` on the spins, R >= 2 trials): about
  1 when the unit's firing is not locked to the trial clock, with null spread ``sqrt(2/T)``.
  Units with ``S_i > 1 + z sqrt(2/T)`` are reported as time-locked (a stimulus drive: fit a
  time-dependent field h_it), not proposed for exclusion.
"""

import math
from dataclasses import dataclass

import numpy as np
import param

__all__ = ["QualityParams", "QualityReport", "quality_report", "unit_correlations"]


class QualityParams(param.Parameterized):
    """Thresholds of the quality report (declared once; the app builds widgets from them)."""

    duplicate_threshold = param.Number(
        0.7, bounds=(0.0, 1.0), softbounds=(0.3, 0.99),
        doc="Equal-time correlation of binary fields at or above which a pair is a "
            "near-duplicate.")
    min_active_bins = param.Integer(
        10, bounds=(0, None), softbounds=(0, 100),
        doc="A unit with fewer bins than this differing from its majority state is "
            "near-constant.")
    stationarity_z = param.Number(
        5.0, bounds=(0.0, None), softbounds=(2.0, 10.0),
        doc="Units with S_i > 1 + z sqrt(2/T) are reported as locked to the trial clock.")


_DEFAULTS = {k: QualityParams.param[k].default for k in
             ("duplicate_threshold", "min_active_bins", "stationarity_z")}


@dataclass(frozen=True, eq=False)
class QualityReport:
    """Outcome of :func:`quality_report`; unit indices are positions 0..N-1 (not ids)."""

    rates_hz: np.ndarray
    spike_prob_per_bin: np.ndarray
    spike_counts: np.ndarray
    silent_units: tuple
    near_constant_units: tuple
    correlation: np.ndarray
    mean_correlation: float
    near_duplicate_pairs: tuple
    stationarity: np.ndarray | None
    time_locked_units: tuple
    proposed_exclusions: tuple
    multi_spike_fraction: float
    warnings: tuple

    def keep_units(self):
        """Positions of the units not proposed for exclusion, in order."""
        drop = {i for i, _ in self.proposed_exclusions}
        return [i for i in range(self.rates_hz.size) if i not in drop]


def unit_correlations(binary):
    """Equal-time Pearson correlation of binary fields, NaN where a unit never varies.

    Parameters
    ----------
    binary : numpy.ndarray, shape (R, N, T), uint8
        0/1 fields (trials and ticks pooled).

    Returns
    -------
    numpy.ndarray, shape (N, N), float64
        Symmetric, unit diagonal for varying units, NaN rows/columns for constant units.
    """
    from neurolattice_core.observables import as_spins, equal_time_correlation

    corr = equal_time_correlation(as_spins(binary), pearson=True)
    p = binary.mean(axis=(0, 2), dtype=np.float64)
    const = (p <= 0.0) | (p >= 1.0)
    corr[const, :] = np.nan
    corr[:, const] = np.nan
    return corr


def quality_report(binned, *, duplicate_threshold=None, min_active_bins=None,
                   stationarity_z=None):
    """Describe a binned recording and propose unit exclusions.

    Parameters
    ----------
    binned : BinnedRecording
    duplicate_threshold : float, optional
        Default :class:`QualityParams` ``duplicate_threshold`` (0.7).
    min_active_bins : int, optional
        Default 10.
    stationarity_z : float, optional
        Default 5.

    Returns
    -------
    QualityReport
    """
    thr = _DEFAULTS["duplicate_threshold"] if duplicate_threshold is None \
        else float(duplicate_threshold)
    min_bins = _DEFAULTS["min_active_bins"] if min_active_bins is None else int(min_active_bins)
    z = _DEFAULTS["stationarity_z"] if stationarity_z is None else float(stationarity_z)
    r, n, t = binned.shape
    sites = r * t
    counts = binned.counts.sum(axis=(0, 2), dtype=np.int64)
    active = binned.binary.sum(axis=(0, 2), dtype=np.int64)
    seconds = sites * binned.bin_s
    rates = counts / seconds if math.isfinite(seconds) and seconds > 0 else np.full(n, np.nan)
    prob = active / sites
    silent = tuple(int(i) for i in np.flatnonzero(counts == 0))
    minority = np.minimum(active, sites - active)
    near_const = tuple(int(i) for i in np.flatnonzero((minority < min_bins) & (counts > 0)))
    corr = unit_correlations(binned.binary)
    iu = np.triu_indices(n, 1)
    upper = corr[iu]
    finite = np.isfinite(upper)
    mean_corr = float(upper[finite].mean()) if finite.any() else float("nan")
    hits = np.flatnonzero(finite & (upper >= thr))
    pairs = sorted(((int(iu[0][k]), int(iu[1][k]), float(upper[k])) for k in hits),
                   key=lambda x: -x[2])
    notes = []
    stat, locked = None, ()
    if r >= 2:
        from neurolattice_core.observables import stationarity_statistic

        stat = stationarity_statistic(binned.spins())
        limit = 1.0 + z * math.sqrt(2.0 / t)
        locked = tuple(int(i) for i in np.flatnonzero(np.isfinite(stat) & (stat > limit)))
        if locked:
            notes.append(f"{len(locked)} of {n} units are locked to the trial clock (S_i > "
                         f"{limit:.3g}): a time-dependent drive; fit time-dependent fields h_it")
    else:
        notes.append("one trial only: the stationarity statistic needs R >= 2 trials")
    proposed = [(i, "silent") for i in silent]
    proposed += [(i, f"near-constant (fewer than {min_bins} bins differ)") for i in near_const]
    dropped = {i for i, _ in proposed}
    for i, j, c in pairs:
        if i in dropped or j in dropped:
            continue
        lo, hi = (j, i) if counts[j] < counts[i] else (i, j)
        proposed.append((lo, f"near-duplicate of unit {hi} (r = {c:.3f}), fewer spikes"))
        dropped.add(lo)
    if silent:
        notes.append(f"{len(silent)} silent unit(s): {list(silent)[:20]}")
    if near_const:
        notes.append(f"{len(near_const)} near-constant unit(s): {list(near_const)[:20]}")
    if pairs:
        shown = ", ".join(f"{i}/{j} ({c:.2f})" for i, j, c in pairs[:10])
        notes.append(f"{len(pairs)} near-duplicate pair(s) with equal-time correlation >= "
                     f"{thr:g} (unit positions, 0-based): {shown}; a fit without "
                     "regularisation gives huge couplings for them: drop one unit of each pair")
    if binned.multi_spike_fraction > 0.1:
        notes.append(f"{100 * binned.multi_spike_fraction:.1f}% of occupied bins hold more than "
                     "one spike: binarisation loses them; consider a smaller bin")
    high = np.flatnonzero(prob > 0.5)
    if high.size:
        notes.append(f"{high.size} unit(s) spike in more than half of the bins: the binary "
                     "field saturates; use a smaller bin")
    return QualityReport(
        rates_hz=rates, spike_prob_per_bin=prob, spike_counts=counts, silent_units=silent,
        near_constant_units=near_const, correlation=corr, mean_correlation=mean_corr,
        near_duplicate_pairs=tuple(pairs), stationarity=stat, time_locked_units=locked,
        proposed_exclusions=tuple(proposed),
        multi_spike_fraction=float(binned.multi_spike_fraction), warnings=tuple(notes),
    )
