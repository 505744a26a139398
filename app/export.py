"""Files behind the export buttons: parameters as JSON, plotted data as CSV and NPZ.

Every function takes session state and returns the file's content; nothing is computed here that
the plots do not already show (the engine and the core compute, this module only writes).
PNG images come from each plot's own save tool in the browser (see README).
"""

import csv
import io
import json

import numpy as np


def _json_value(value):
    """A parameter value as JSON (arrays become nested lists)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def model_parameters(model):
    """All parameters of a LatticeModel as a JSON-ready dict (the name excluded)."""
    return {k: _json_value(v) for k, v in model.param.values().items() if k != "name"}


def parameters_json(store, query=""):
    """The running simulation as JSON: preset, engine settings, every model parameter.

    Parameters
    ----------
    store : SessionStore
    query : str
        The page's URL query string (``?preset=...``), recorded so a reader can reopen the view.

    Returns
    -------
    str
        Indented JSON with keys ``preset``, ``algorithm``, ``sweeps_per_frame``, ``sweeps_done``,
        ``path``, ``critical_temperature`` (or null), ``model`` and ``url_query``.
    """
    sampler = store.sampler
    return json.dumps({
        "preset": store.preset, "algorithm": store.algorithm,
        "sweeps_per_frame": store.sweeps_per_frame, "sweeps_done": sampler.sweeps_done,
        "path": sampler.path.name, "critical_temperature": sampler.model.critical_temperature(),
        "model": model_parameters(sampler.model), "url_query": query,
    }, indent=2)


def snapshot_npz(store):
    """The current configurations and their parameters as NPZ bytes.

    Arrays: ``spins`` int8 (R, N, T) with values +-1 (replicas x neurons x ticks),
    ``spikes`` uint8 (R, N, T) = (spins + 1) / 2, ``sweep`` int64 (), and ``parameters``,
    the JSON of :func:`parameters_json` as a 0-d string array.
    """
    spins = store.sampler.configurations()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, spins=spins, spikes=((spins + 1) // 2).astype(np.uint8),
                        sweep=np.int64(store.sampler.sweeps_done),
                        parameters=np.array(parameters_json(store)))
    return buffer.getvalue()


def _csv(header, columns):
    """CSV text with ``header`` and equal-length ``columns`` (NaN for missing values)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    length = max((len(c) for c in columns), default=0)
    padded = [np.concatenate([np.asarray(c, float), np.full(length - len(c), np.nan)])
              for c in columns]
    for row in zip(*padded, strict=True):
        writer.writerow([f"{v:.10g}" for v in row])
    return text.getvalue()


def traces_csv(store):
    """Energy per site and magnetisation per measured sweep, one column per replica.

    Columns: ``sweep``, ``energy_per_site_r0`` ... , ``magnetization_r0`` ... (the engine's
    history ring buffer, oldest first).
    """
    history = store.sampler.history()
    replicas = history["energy_per_site"].shape[1]
    header = (["sweep"] + [f"energy_per_site_r{r}" for r in range(replicas)]
              + [f"magnetization_r{r}" for r in range(replicas)])
    columns = ([history["sweep"]] + list(history["energy_per_site"].T)
               + list(history["magnetization"].T))
    return _csv(header, columns)


CORRELATION_COLUMNS = ["k", "C_tau_at_lag_k_ticks", "C_tau_exact_at_lag_k_ticks",
                       "C_r_at_distance_k_neurons", "mu_of_neuron_k", "nu_of_tick_k"]


def correlations_csv(store):
    """The correlation functions and kernel averages of the latest frame, as plotted.

    Column ``k`` indexes every other column; each says what ``k`` is for it:
    ``C_tau_at_lag_k_ticks``, ``C_tau_exact_at_lag_k_ticks``, ``C_r_at_distance_k_neurons``,
    ``mu_of_neuron_k`` and ``nu_of_tick_k`` (the kernel's row and column averages). Shorter
    columns are padded with NaN (empty before the first frame).
    """
    products = store.sampler.latest_frame()["products"] or {}

    def column(key):
        value = products.get(key)
        return np.zeros(0) if value is None else np.asarray(value, float)

    columns = [column(k) for k in ("temporal_correlation", "exact_temporal_correlation",
                                   "spatial_correlation", "row_average", "column_average")]
    index = np.arange(max((len(c) for c in columns), default=0))
    return _csv(CORRELATION_COLUMNS, [index, *columns])


def recording_npz(recording_state):
    """The binned recording (all units) as NPZ bytes, or None before one is loaded.

    Arrays: ``spikes`` uint8 (R, N, T) 0/1, ``bin_s`` float (s), ``window_s`` (2,) float (s),
    ``kept_units`` int (n,) positions used by observables and fits, ``source`` 0-d string.
    """
    binned = recording_state.binned
    if binned is None:
        return None
    buffer = io.BytesIO()
    np.savez_compressed(buffer, spikes=np.asarray(binned.binary, np.uint8),
                        bin_s=np.float64(binned.bin_s), window_s=np.asarray(binned.window_s, float),
                        kept_units=np.asarray(recording_state.kept_units(), np.int64),
                        source=np.array(recording_state.source_label))
    return buffer.getvalue()


def recording_units_csv(recording_state):
    """Per-unit observables of the kept units, as plotted, or None before a recording is loaded.

    Columns: ``unit`` (position), ``rate_hz``, ``stationarity``.
    """
    described = recording_state.described
    if described is None:
        return None
    return _csv(["unit", "rate_hz", "stationarity"],
                [described["units"], described["rates_hz"], described["stationarity"]])

