"""Observables of MODEL.md section 4: one code path for simulated replicas and recorded trials.

Spins have shape ``(R, N, T)`` (replicas or trials x neurons x ticks), values -1/+1; spike
rasters are converted with :func:`as_spins`. Modules:

- :mod:`.spins`: conversion, validation, magnetisation, slice magnetisation, population count;
- :mod:`.statistics`: autocorrelation time (Sokal), blocking (Flyvbjerg-Petersen / Jonsson),
  blocked jackknife;
- :mod:`.thermodynamics`: energy, |m|, specific heat, susceptibility, Binder with errors;
- :mod:`.correlations`: C(tau), C(r) on ring/grid, second-moment and exponential lengths;
- :mod:`.spectra`: kernel m_it, row/column averages, spectra, W1, SVD/PCA;
- :mod:`.matrices`: equal-time, lagged, signal and noise correlation matrices;
- :mod:`.replicas`: q_ab(t), P(q), q_EA, phase labels;
- :mod:`.stationarity`: stationarity statistic S_i and ergodicity (time vs ensemble averages).
"""

from neurolattice_core.observables.correlations import (
    exponential_correlation_length,
    second_moment_correlation_length,
    spatial_correlation,
    temporal_correlation,
)
from neurolattice_core.observables.matrices import (
    equal_time_correlation,
    lagged_correlation,
    noise_correlation,
    signal_correlation,
)
from neurolattice_core.observables.replicas import (
    edwards_anderson,
    overlap_distribution,
    overlaps,
    phase_label,
    phase_summary,
    phase_thresholds,
)
from neurolattice_core.observables.spectra import (
    KernelSVD,
    column_averages,
    kernel,
    kernel_svd,
    row_averages,
    spectrum,
    spike_probability,
    wasserstein1,
)
from neurolattice_core.observables.spins import (
    abs_magnetization,
    as_spins,
    grid_time_slice,
    magnetization,
    population_count,
    slice_magnetization,
    validate_spins,
)
from neurolattice_core.observables.stationarity import (
    ergodicity,
    population_stationarity_statistic,
    stationarity_statistic,
    stationarity_summary,
)
from neurolattice_core.observables.statistics import (
    AutocorrelationWarning,
    autocorrelation_function,
    blocking_analysis,
    blocking_mean_error,
    integrated_autocorrelation_time,
    jackknife,
    running_mean,
    tau_int_error,
)
from neurolattice_core.observables.thermodynamics import (
    binder_cumulant,
    specific_heat,
    susceptibility,
    thermodynamic_summary,
)

__all__ = [
    "AutocorrelationWarning",
    "KernelSVD",
    "abs_magnetization",
    "as_spins",
    "autocorrelation_function",
    "binder_cumulant",
    "blocking_analysis",
    "blocking_mean_error",
    "column_averages",
    "edwards_anderson",
    "equal_time_correlation",
    "ergodicity",
    "exponential_correlation_length",
    "grid_time_slice",
    "integrated_autocorrelation_time",
    "jackknife",
    "kernel",
    "kernel_svd",
    "lagged_correlation",
    "magnetization",
    "noise_correlation",
    "overlap_distribution",
    "overlaps",
    "phase_label",
    "phase_summary",
    "phase_thresholds",
    "population_count",
    "population_stationarity_statistic",
    "row_averages",
    "running_mean",
    "second_moment_correlation_length",
    "signal_correlation",
    "slice_magnetization",
    "spatial_correlation",
    "specific_heat",
    "spectrum",
    "spike_probability",
    "stationarity_statistic",
    "stationarity_summary",
    "susceptibility",
    "tau_int_error",
    "temporal_correlation",
    "thermodynamic_summary",
    "validate_spins",
    "wasserstein1",
]
