"""Re-binning of pre-binned rasters (sum of groups of native bins), used by ``bin_recording``."""

import math

import numpy as np

from neurolattice_core.errors import BinningError

__all__ = ["bin_raster"]


def _as_ticks(x, w0, what, tol):
    k = x / w0
    kr = round(k)
    if abs(k - kr) > max(tol, 1e-9) * max(1.0, abs(k)):
        raise BinningError(
            f"{what} = {x:g} s is not a whole multiple of the raster's {w0 * 1e3:g} ms bins"
        )
    return int(kr)


def bin_raster(rec, bin_s, *, window, align, segment_s, tol):
    """Re-bin a raster recording (see :func:`~neurolattice_core.recordings.binning.bin_recording`).

    Returns
    -------
    BinnedRecording
    """
    from neurolattice_core.recordings.binning import BinnedRecording, _guard

    if align is not None:
        raise BinningError(
            f"align={align!r}: a pre-binned raster has no trial events to align to"
        )
    w0 = rec.raster_bin_s
    counts = rec.raster
    r, n, t0 = counts.shape
    notes = []
    factor = 1
    if bin_s is not None:
        if not (isinstance(bin_s, int | float | np.floating | np.integer) and math.isfinite(bin_s)
                and bin_s > 0):
            raise BinningError(f"bin width must be a finite number of seconds > 0; got {bin_s!r}")
        if w0 is None:
            raise BinningError(
                "the raster's bin width is unknown, so it cannot be re-binned to "
                f"{bin_s * 1e3:g} ms; load it with bin_width_s=... (or use "
                "Recording.with_raster_bin_width)"
            )
        if float(bin_s) < w0 * (1 - 1e-9):
            raise BinningError(
                f"bin width {bin_s * 1e3:g} ms is finer than the raster's {w0 * 1e3:g} ms bins; "
                "a raster can only be re-binned to a multiple of its bin"
            )
        factor = _as_ticks(float(bin_s), w0, "bin width", tol)
    lo, hi = 0, t0
    if window is not None:
        if w0 is None:
            raise BinningError("a window in seconds needs the raster's bin width (bin_width_s)")
        wa, wb = window
        lo = 0 if wa is None else _as_ticks(float(wa), w0, "window start", tol)
        hi = t0 if wb is None else _as_ticks(float(wb), w0, "window stop", tol)
        if not (0 <= lo < hi <= t0):
            raise BinningError(
                f"window ({wa}, {wb}) s must lie inside the raster's 0..{t0 * w0:g} s and have "
                "start < stop"
            )
    counts = counts[:, :, lo:hi]
    if segment_s is not None:
        if w0 is None:
            raise BinningError("segment_s needs the raster's bin width (bin_width_s)")
        if r != 1:
            raise BinningError("segment_s applies only to a raster without trials")
        seg = _as_ticks(float(segment_s), w0, "segment_s", tol)
        n_seg = counts.shape[2] // seg if seg > 0 else 0
        if n_seg < 1:
            raise BinningError(f"segment_s = {segment_s:g} s is longer than the raster")
        counts = counts[0, :, :n_seg * seg].reshape(n, n_seg, seg).transpose(1, 0, 2)
        r = n_seg
    t_native = counts.shape[2]
    t = t_native // factor
    if t < 1:
        raise BinningError(
            f"the bin width {factor * (w0 or 0) * 1e3:g} ms is larger than the raster "
            f"({t_native * (w0 or 0) * 1e3:g} ms); choose a smaller bin width"
        )
    if t * factor < t_native:
        notes.append(f"the last {t_native - t * factor} native bins do not fill a bin and are "
                     "dropped")
    _guard(r, n, t)
    if factor > 1:
        summed = counts[:, :, :t * factor].reshape(r, n, t, factor).sum(axis=3, dtype=np.uint64)
        dtype = np.uint16 if summed.max(initial=0) <= np.iinfo(np.uint16).max else np.uint32
        out = summed.astype(dtype)
    else:
        out = np.ascontiguousarray(counts)
        if out.dtype == np.uint8:
            out = out.astype(np.uint16)
    binary = (out > 0).view(np.uint8)
    occupied = int(np.count_nonzero(binary))
    multi = int(np.count_nonzero(out > 1))
    w = w0 * factor if w0 is not None else float("nan")
    start = lo * w0 if w0 is not None else 0.0
    if w0 is None:
        anchors = np.full(r, np.nan)
    elif segment_s is not None:
        anchors = start + np.arange(r) * (t_native * w0)
    else:
        anchors = np.full(r, start)
    total = int(out.sum(dtype=np.int64))
    return BinnedRecording(
        binary=binary, counts=out, bin_s=w, window_s=(0.0, t * w), align=None,
        anchors_s=anchors, unit_ids=rec.unit_ids, unit_labels=rec.unit_labels, trial_labels=None,
        multi_spike_fraction=multi / occupied if occupied else 0.0, n_spikes_binned=total,
        n_spikes_outside=int(rec.n_spikes - total), warnings=tuple(notes),
    )
