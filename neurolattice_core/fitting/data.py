"""Recorded spins prepared for fitting: checks, train/held-out split, merged design rows.

A recording enters the fitters as :class:`FitData`: int8 spins of shape (R, N, T) (trials x units
x ticks, +-1 with s = +1 when the unit spiked in the bin, MODEL.md section 1), the bin width and
the provenance. Trials are never joined: the temporal neighbours of tick t are t - 1 and t + 1 of
the same trial, and the first and last tick of a trial have one temporal neighbour (open time).

The pseudo-likelihood of every model is a sum over *rows*: one row is a covariate pattern (the
spins every neuron's local field depends on), the response spin of each neuron, optionally each
neuron's temporal-neighbour sum n_it = s_i,t-1 + s_i,t+1 and a tick index (for a time-locked
drive u_t). Identical rows are merged and carry a count (:func:`build_rows`).
"""

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import FitError
from ..observables import as_spins, validate_spins

__all__ = ["FitData", "Rows", "build_rows", "temporal_neighbour_sum", "unit_problems"]

NEAR_DUPLICATE_CORRELATION = 0.8
"""Pairs of units whose equal-time Pearson correlation exceeds this are flagged."""


@dataclass(frozen=True)
class FitData:
    """A binned recording as spins, ready to be fitted.

    Attributes
    ----------
    spins : numpy.ndarray, int8, shape (R, N, T)
        Trials (or time blocks) x units x ticks, values -1/+1, C order.
    bin_ms : float or None
        Bin width in milliseconds (None when unknown).
    units : numpy.ndarray, int64, shape (N,)
        Indices of these units in the original recording (after any dropping).
    aligned : bool
        True when the R trials share one clock (repeated stimulus): a time-locked drive u_t and
        the kernel m_it are meaningful. False for time blocks cut from one continuous recording.
    provenance : dict
        Free-form description of the source (file, dataset, loader, selection); JSON-able.
    """

    spins: np.ndarray
    bin_ms: float | None = None
    units: np.ndarray = None
    aligned: bool = True
    provenance: dict = field(default_factory=dict)

    def __post_init__(self):
        s = validate_spins(self.spins)
        if s.dtype != np.int8 or not s.flags.c_contiguous:
            s = np.ascontiguousarray(s, dtype=np.int8)
        object.__setattr__(self, "spins", s)
        n = s.shape[1]
        units = np.arange(n) if self.units is None else np.asarray(self.units, dtype=np.int64)
        if units.shape != (n,):
            raise FitError(f"units must list one index per unit ({n}), got shape {units.shape}")
        object.__setattr__(self, "units", units)
        if self.bin_ms is not None:
            b = float(self.bin_ms)
            if not np.isfinite(b) or b <= 0:
                raise FitError(f"bin_ms must be a positive number of milliseconds, got {b}")
            object.__setattr__(self, "bin_ms", b)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_raster(cls, raster, *, bin_ms=None, aligned=None, provenance=None):
        """Build from a spike raster or spins.

        Parameters
        ----------
        raster : array_like, shape (R, N, T) or (N, T)
            Trials x units x ticks (or one trial, units x ticks): 0/1, booleans, spike counts
            (any count > 0 is a spike) or spins -1/+1 (int8).
        bin_ms : float, optional
            Bin width in ms.
        aligned : bool, optional
            Whether trials share a clock; default True for R > 1, False for one trial.
        provenance : dict, optional

        Returns
        -------
        FitData
        """
        a = np.asarray(raster)
        if a.dtype == np.int8 and a.size and np.all((a == 1) | (a == -1)):
            spins = a if a.ndim == 3 else a[None]
        else:
            spins = as_spins(a)
        if aligned is None:
            aligned = spins.shape[0] > 1
        return cls(spins, bin_ms=bin_ms, aligned=bool(aligned), provenance=dict(provenance or {}))

    @classmethod
    def from_binned(cls, binned, *, provenance=None):
        """Build from a :class:`~neurolattice_core.recordings.binning.BinnedRecording`.

        Uses its ``spins()`` (spike in the bin -> +1), ``bin_s`` and, for provenance, its unit
        ids and labels, window, alignment event and binning warnings. Trials are treated as
        aligned when there are several of them.
        """
        spins = binned.spins()
        info = {"bin_s": float(binned.bin_s), "window_s": [float(x) for x in binned.window_s],
                "align": binned.align, "unit_ids": [str(u) for u in binned.unit_ids],
                "unit_labels": [str(u) for u in binned.unit_labels],
                "binning_warnings": list(binned.warnings)}
        return cls(spins, bin_ms=1000.0 * float(binned.bin_s), aligned=spins.shape[0] > 1,
                   provenance={**info, **dict(provenance or {})})

    # ------------------------------------------------------------------ shape
    @property
    def n_trials(self):
        """R, number of trials (or time blocks)."""
        return self.spins.shape[0]

    @property
    def n_units(self):
        """N, number of units."""
        return self.spins.shape[1]

    @property
    def n_ticks(self):
        """T, ticks per trial."""
        return self.spins.shape[2]

    @property
    def n_samples(self):
        """R * T, the number of (trial, tick) samples."""
        return self.n_trials * self.n_ticks

    def rates(self):
        """Spike probability per bin of each unit, float64 (N,)."""
        return 0.5 * (1.0 + self.spins.mean(axis=(0, 2), dtype=np.float64))

    def select_units(self, keep):
        """A copy with only the units ``keep`` (indices into the current units)."""
        keep = np.asarray(keep, dtype=np.int64)
        return replace(self, spins=np.ascontiguousarray(self.spins[:, keep]),
                       units=self.units[keep])

    # ------------------------------------------------------------------ split
    def split(self, holdout=0.2, by="auto", n_blocks=10):
        """Train / held-out split by whole trials or by time blocks.

        Rule: with ``by="auto"``, trials are split when there are at least 5 of them, otherwise
        every trial is cut into ``n_blocks`` contiguous blocks of ``T // n_blocks`` ticks (the
        remainder ticks at the end are dropped) and blocks are split. Every k-th trial or block
        is held out, k = round(1 / holdout), starting from the last one of each group of k
        (deterministic, spread over the recording so slow drifts affect both parts alike).
        Blocks become separate open-time trials (``aligned=False``).

        Parameters
        ----------
        holdout : float
            Fraction held out, in [0.05, 0.5]. 0 returns (self, None).
        by : {"auto", "trials", "blocks"}
        n_blocks : int
            Blocks per trial for a block split (>= 2).

        Returns
        -------
        train : FitData
        heldout : FitData or None
        """
        if holdout == 0:
            return self, None
        if not 0.05 <= float(holdout) <= 0.5:
            raise FitError(f"holdout must be 0 or in [0.05, 0.5], got {holdout}")
        if by not in ("auto", "trials", "blocks"):
            raise FitError(f"split 'by' must be 'auto', 'trials' or 'blocks', got {by!r}")
        k = max(2, int(round(1.0 / float(holdout))))
        if by == "auto":
            by = "trials" if self.n_trials >= 5 else "blocks"
        if by == "trials":
            if self.n_trials < 2:
                raise FitError("a split by trials needs at least 2 trials; use by='blocks'")
            held = np.arange(self.n_trials) % k == k - 1
            if not held.any():
                held[-1] = True
            return (replace(self, spins=np.ascontiguousarray(self.spins[~held])),
                    replace(self, spins=np.ascontiguousarray(self.spins[held])))
        length = self.n_ticks // int(n_blocks)
        if int(n_blocks) < 2 or length < 10:
            raise FitError(f"a split into {n_blocks} time blocks needs at least 10 ticks per "
                           f"block; the trials have {self.n_ticks} ticks: bin finer, record "
                           f"longer, or skip the validation (holdout=0)")
        s = self.spins[:, :, : length * n_blocks].reshape(self.n_trials, self.n_units,
                                                          n_blocks, length)
        s = s.transpose(0, 2, 1, 3).reshape(-1, self.n_units, length)
        held = np.arange(s.shape[0]) % k == k - 1
        return (replace(self, spins=np.ascontiguousarray(s[~held]), aligned=False),
                replace(self, spins=np.ascontiguousarray(s[held]), aligned=False))


# ---------------------------------------------------------------------- checks
def unit_problems(data, near_duplicate=NEAR_DUPLICATE_CORRELATION):
    """Units that make a fit ill-posed, and pairs that make it ill-conditioned.

    Parameters
    ----------
    data : FitData
    near_duplicate : float
        Pearson-correlation threshold for near-duplicate pairs.

    Returns
    -------
    dict
        ``silent`` (units that never spike), ``always_on`` (units that spike in every bin),
        both int64 arrays of unit positions; ``duplicates``: list of (i, j, corr) with equal-time
        Pearson correlation above ``near_duplicate``.
    """
    s = data.spins
    spikes = (s > 0).sum(axis=(0, 2))
    silent = np.flatnonzero(spikes == 0)
    always = np.flatnonzero(spikes == data.n_samples)
    x = s.transpose(1, 0, 2).reshape(data.n_units, -1).astype(np.float32)
    m = x.mean(axis=1, dtype=np.float64)
    cov = (x @ x.T).astype(np.float64) / x.shape[1] - np.outer(m, m)
    sd = np.sqrt(np.clip(np.diag(cov), 1e-12, None))
    corr = cov / np.outer(sd, sd)
    ok = np.diag(cov) > 1e-6
    iu, ju = np.triu_indices(data.n_units, 1)
    sel = (corr[iu, ju] > near_duplicate) & ok[iu] & ok[ju]
    dups = [(int(i), int(j), float(corr[i, j])) for i, j in zip(iu[sel], ju[sel], strict=True)]
    return {"silent": silent, "always_on": always, "duplicates": dups}


# ---------------------------------------------------------------------- rows
@dataclass(frozen=True)
class Rows:
    """Merged design rows of a pseudo-likelihood problem (see the module docstring).

    Covariates are stored as the sorted list of *active* units of each row in the flipped
    0/1 representation x_a = (1 + flip_a s_a) / 2, where ``flip_a = -1`` for units that spike
    in more than half of the bins, so the lists stay short for any firing rate.

    Attributes
    ----------
    act_ptr : numpy.ndarray, int64, shape (M + 1,)
    act_idx : numpy.ndarray, int32, shape (nnz,)
        Active covariate units of row m: ``act_idx[act_ptr[m]:act_ptr[m+1]]``, ascending.
    response : numpy.ndarray, int8, shape (M, N)
        Response spin of each neuron in each row.
    neighbours : numpy.ndarray, int8, shape (M, N) or (M, 0)
        Temporal-neighbour sums n_it (lft only; else zero columns).
    counts : numpy.ndarray, float64, shape (M,)
        How many samples the row stands for.
    tick : numpy.ndarray, int64, shape (M,)
        Tick index of the row (when the drive is fitted; else -1).
    flip : numpy.ndarray, int8, shape (N,)
        +1 or -1 per covariate unit.
    n_samples : int
        Sum of the counts.
    group : numpy.ndarray, int64, shape (M,) or None
        Cluster label of the row's samples (when built with ``groups``; rows merge only within
        a cluster).
    """

    act_ptr: np.ndarray
    act_idx: np.ndarray
    response: np.ndarray
    neighbours: np.ndarray
    counts: np.ndarray
    tick: np.ndarray
    flip: np.ndarray
    n_samples: int
    group: np.ndarray = None

    @property
    def n_rows(self):
        """M, number of merged rows."""
        return self.counts.size


def temporal_neighbour_sum(spins):
    """n_it = s_i,t-1 + s_i,t+1 within each trial (open ends have one neighbour).

    Parameters
    ----------
    spins : numpy.ndarray, int8, shape (R, N, T)

    Returns
    -------
    numpy.ndarray, int8, shape (R, N, T)
        Values in {-2, 0, 2} inside a trial, {-1, 1} at its ends (0 everywhere if T == 1).
    """
    nb = np.zeros(spins.shape, dtype=np.int8)
    if spins.shape[2] > 1:
        nb[:, :, 1:] += spins[:, :, :-1]
        nb[:, :, :-1] += spins[:, :, 1:]
    return nb


def _unique_rows(key_bytes):
    """Indices of the first occurrence of each distinct row, inverse map and counts."""
    m, width = key_bytes.shape
    view = np.ascontiguousarray(key_bytes).view(np.dtype((np.void, width))).ravel()
    _, first, inverse, counts = np.unique(view, return_index=True, return_inverse=True,
                                          return_counts=True)
    return first, inverse.ravel(), counts


def build_rows(data, model, *, drive=False, merge=True, groups=None):
    """Design rows of the pseudo-likelihood of ``model`` on ``data``.

    - ``maxent``: one row per (trial, tick); covariates and responses are s_t.
    - ``lft``: as maxent plus the temporal-neighbour sums n_t (and the tick when ``drive``).
    - ``kinetic``: one row per transition t -> t+1 within a trial; covariates s_t, responses
      s_t+1.

    Parameters
    ----------
    data : FitData
    model : {"maxent", "lft", "kinetic"}
    drive : bool
        Keep the tick index of each row (for a time-locked drive u_t; lft and maxent only).
    merge : bool
        Merge identical rows (same covariates, responses, neighbour sums and tick).
    groups : numpy.ndarray, int64, shape (n_rows_unmerged,), optional
        A cluster label per sample row, in row order (trial-major, then tick; for kinetic one
        per transition); kept in ``Rows.group`` and part of the merge key.

    Returns
    -------
    Rows
    """
    s = data.spins
    r, n, t = s.shape
    if model == "kinetic":
        if t < 2:
            raise FitError("the kinetic model needs trials of at least 2 ticks")
        cov = s[:, :, :-1].transpose(0, 2, 1).reshape(-1, n)
        resp = s[:, :, 1:].transpose(0, 2, 1).reshape(-1, n)
        nb = np.zeros((cov.shape[0], 0), dtype=np.int8)
        ticks = np.tile(np.arange(t - 1), r)
    else:
        cov = s.transpose(0, 2, 1).reshape(-1, n)
        resp = cov
        nb = (temporal_neighbour_sum(s).transpose(0, 2, 1).reshape(-1, n) if model == "lft"
              else np.zeros((cov.shape[0], 0), dtype=np.int8))
        ticks = np.tile(np.arange(t), r)
    rates = 0.5 * (1.0 + cov.mean(axis=0, dtype=np.float64))
    flip = np.where(rates > 0.5, -1, 1).astype(np.int8)
    x = (cov * flip[None, :]) > 0        # the flipped 0/1 representation
    counts = np.ones(cov.shape[0])
    if merge:
        parts = [np.packbits(x, axis=1)]
        if model == "kinetic":
            parts.append(np.packbits(resp > 0, axis=1))
        if nb.shape[1]:
            parts.append((nb + 2).astype(np.uint8))
        if drive:
            parts.append(ticks.astype(">u4").view(np.uint8).reshape(-1, 4))
        if groups is not None:
            parts.append(np.asarray(groups).astype(">u4").view(np.uint8).reshape(-1, 4))
        first, _, c = _unique_rows(np.concatenate(parts, axis=1))
        x, resp, nb, ticks = x[first], resp[first], nb[first], ticks[first]
        groups = None if groups is None else np.asarray(groups)[first]
        counts = c.astype(np.float64)
    act_ptr = np.zeros(x.shape[0] + 1, dtype=np.int64)
    np.cumsum(x.sum(axis=1), out=act_ptr[1:])
    act_idx = np.nonzero(x)[1].astype(np.int32)   # row-major: ascending within each row
    return Rows(act_ptr, act_idx, np.ascontiguousarray(resp, dtype=np.int8),
                np.ascontiguousarray(nb, dtype=np.int8), counts,
                ticks.astype(np.int64) if drive else np.full(x.shape[0], -1, dtype=np.int64),
                flip, int(counts.sum()),
                None if groups is None else np.asarray(groups, dtype=np.int64))
