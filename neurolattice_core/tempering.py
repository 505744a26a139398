"""Parallel tempering (replica exchange) for glassy couplings (SK, Hopfield, any J).

A ladder of temperatures theta_0 < theta_1 < ... < theta_{n-1} (beta_k = 1/theta_k) holds one
configuration per rung in each of ``n_copies`` independent ladders ("copies"), so that overlaps
q_ab = (1/(N T)) sum_it s^a_it s^b_it can be measured between copies at the same temperature.
Every round runs ``sweeps_per_round`` local sweeps on all configurations (each at its rung's
beta; ``kernels.local.local_sweeps``), then proposes swaps between neighbouring rungs of each
copy with the Metropolis rule (a at beta_k, b at beta_{k+1})

    P(accept swap) = min(1, exp((beta_k - beta_{k+1}) (E_a - E_b)))

which keeps the product of the Boltzmann distributions prod_k exp(-beta_k E) / Z_k invariant
(Swendsen & Wang, PRL 57, 2607 (1986); Hukushima & Nemoto, JPSJ 65, 1604 (1996)). Rungs are
proposed in the deterministic even-odd order: pairs (0,1), (2,3), ... on even rounds and
(1,2), (3,4), ... on odd rounds (each half-step satisfies detailed balance; the alternation
speeds up round trips, Lingenheil et al., Chem. Phys. Lett. 478, 80 (2009)).

Temperatures are exchanged, not configurations: replica r keeps its spins and its random stream
and carries the index of the rung it currently occupies. Random numbers are counter-based
(``kernels.rng``): local sweeps use one stream per replica, and the swap of rung k in copy c at
round n uses draw ``(n * n_copies + c) * n_temperatures + k`` of the swap stream, so a run is a
pure function of the seed, whatever the thread count.

Energy (MODEL.md section 2; T == 2 periodic couples the two ticks twice, T == 1 has no
temporal bond):

    E[s] = - sum_t sum_{i<j} J_ij s_it s_jt - sum_t sum_i K_i s_it s_i,t+1 - sum_t sum_i h_it s_it
"""

import math

import numpy as np
from numba import njit

from . import connectivity as conn
from .errors import ParameterError
from .kernels.rng import random_uniform, random_words, stream_key

_SWEEP_PURPOSE = 0x7E3
_SWAP_PURPOSE = 0x5A9
_INIT_PURPOSE = 0x1A1
METHODS = ("heatbath", "metropolis")


def geometric_ladder(theta_min, theta_max, n_temperatures):
    """Temperatures theta_min * (theta_max / theta_min)**(k / (n - 1)), k = 0 .. n-1.

    Returns
    -------
    numpy.ndarray
        float64 (n_temperatures,), increasing; a geometric ladder gives roughly uniform swap
        acceptance when the specific heat is roughly constant.
    """
    if not (0 < theta_min < theta_max < math.inf):
        raise ParameterError(f"need 0 < theta_min < theta_max < inf, got theta_min={theta_min}, "
                             f"theta_max={theta_max}.")
    if int(n_temperatures) != n_temperatures or n_temperatures < 2:
        raise ParameterError(f"n_temperatures must be an integer >= 2, got {n_temperatures}.")
    k = np.arange(int(n_temperatures)) / (int(n_temperatures) - 1)
    return theta_min * (theta_max / theta_min) ** k


@njit(cache=True, nogil=True)
def _swap_step(energies, betas, replica_at, rung_of, parity, key, round_index, attempts,
               accepts):
    """One even (parity 0) or odd (parity 1) half-step of swap proposals, in place.

    ``energies`` float64 (R,) per replica, ``betas`` float64 (n,) per rung, ``replica_at`` int64
    (n_copies, n) the replica holding rung k of copy c, ``rung_of`` int64 (R,) its inverse;
    ``attempts``, ``accepts`` int64 (n_copies, n-1) counters per copy and rung.
    """
    n_copies, n_temps = replica_at.shape
    for c in range(n_copies):
        for k in range(parity, n_temps - 1, 2):
            a = replica_at[c, k]
            b = replica_at[c, k + 1]
            log_ratio = (betas[k] - betas[k + 1]) * (energies[a] - energies[b])
            counter = (round_index * n_copies + c) * n_temps + k
            u = random_uniform(key, np.uint64(counter))
            attempts[c, k] += 1
            if log_ratio >= 0.0 or u < math.exp(log_ratio):
                replica_at[c, k] = b
                replica_at[c, k + 1] = a
                rung_of[a] = k + 1
                rung_of[b] = k
                accepts[c, k] += 1


def ladder_energies(spins, couplings, K, fields, time_periodic):
    """Energy E[s] of each configuration, float64 (R,), for int8 spins (R, N, T).

    ``couplings`` is a :class:`~neurolattice_core.connectivity.Couplings` of kind ``"dense"``,
    ``"sparse"`` or ``"all-to-all"``; cost O(R N^2 T) for dense, O(R nnz T) for sparse.
    """
    s = spins.astype(np.float64)
    n_rep, n, t_len = s.shape
    if couplings.kind == "all-to-all":
        column = s.sum(axis=1)
        equal_time = 0.5 * couplings.J_all * ((column**2).sum(axis=1) - n * t_len)
    else:
        if couplings.kind == "dense":
            local = np.matmul(couplings.dense(), s)
        else:
            from scipy.sparse import csr_matrix
            matrix = csr_matrix((couplings.weights, couplings.indices, couplings.indptr),
                                shape=(n, n))
            flat = s.transpose(1, 0, 2).reshape(n, n_rep * t_len)
            local = (matrix @ flat).reshape(n, n_rep, t_len).transpose(1, 0, 2)
        equal_time = 0.5 * np.einsum("rit,rit->r", s, local)
    temporal = np.zeros(n_rep)
    if t_len > 1:
        pairs = s * np.roll(s, -1, axis=2) if time_periodic else s[:, :, :-1] * s[:, :, 1:]
        temporal = np.einsum("i,rit->r", K, pairs)
    return -equal_time - temporal - np.einsum("it,rit->r", fields, s)


class ParallelTempering:
    """Replica exchange on a temperature ladder, ``n_copies`` independent ladders.

    Parameters
    ----------
    shape : tuple of int
        (N, T), neurons x ticks of one configuration.
    thetas : array_like
        Temperatures, strictly increasing, positive (see :func:`geometric_ladder`); n >= 2.
    couplings : Couplings or numpy.ndarray
        A :class:`~neurolattice_core.connectivity.Couplings` (any kind) or a symmetric float64
        (N, N) matrix with zero diagonal.
    K : array_like
        float64 (N,), temporal couplings K_i (any sign).
    fields : array_like
        float64 (N, T), fields h_it.
    time_periodic : bool
        Periodic or open time.
    n_copies : int
        Independent ladders (>= 1); use >= 2 to measure overlaps.
    method : {"heatbath", "metropolis"}
        Local update rule.
    seed : int
        Seeds the hot start, the local sweeps and the swaps.
    spins : numpy.ndarray, optional
        int8 (n_copies, n, N, T) initial configurations, [copy, rung]; default a hot start.
    local_update : callable, optional
        Replacement for ``kernels.local.local_sweeps`` (same keyword signature), for tests.
    """

    def __init__(self, shape, thetas, couplings, K, fields, *, time_periodic=True, n_copies=2,
                 method="heatbath", seed=0, spins=None, local_update=None):
        n, t_len = (int(x) for x in shape)
        if n < 1 or t_len < 1:
            raise ParameterError(f"shape must be (N, T) with N, T >= 1, got {shape}.")
        thetas = np.asarray(thetas, dtype=np.float64)
        if thetas.ndim != 1 or thetas.size < 2 or not np.all(np.isfinite(thetas)) \
                or np.any(thetas <= 0) or np.any(np.diff(thetas) <= 0):
            raise ParameterError("thetas must be >= 2 finite, positive, strictly increasing "
                                 f"temperatures, got {thetas}.")
        if not isinstance(couplings, conn.Couplings):
            couplings = conn.from_matrix(couplings, name="couplings")
        if couplings.n_neurons != n:
            raise ParameterError(f"couplings are for {couplings.n_neurons} neurons, shape has {n}.")
        K = np.ascontiguousarray(K, dtype=np.float64)
        fields = np.ascontiguousarray(fields, dtype=np.float64)
        if K.shape != (n,) or fields.shape != (n, t_len):
            raise ParameterError(f"K must have shape ({n},) and fields ({n}, {t_len}); got "
                                 f"{K.shape} and {fields.shape}.")
        if not (np.all(np.isfinite(K)) and np.all(np.isfinite(fields))):
            raise ParameterError("K and fields must be finite.")
        if int(n_copies) != n_copies or n_copies < 1:
            raise ParameterError(f"n_copies must be an integer >= 1, got {n_copies}.")
        if method not in METHODS:
            raise ParameterError(f"method must be one of {METHODS}, got {method!r}.")
        self._thetas = thetas
        self._betas = 1.0 / thetas
        self._couplings = couplings
        self._J_dense = couplings.dense() if couplings.kind == "dense" else None
        self._K, self._fields = K, fields
        self._periodic = bool(time_periodic)
        self._method = method
        self._update = local_update
        n_temps, n_copies = thetas.size, int(n_copies)
        n_rep = n_temps * n_copies
        self._replica_at = np.arange(n_rep, dtype=np.int64).reshape(n_copies, n_temps)
        self._rung_of = np.tile(np.arange(n_temps, dtype=np.int64), n_copies)
        if spins is None:
            bits = np.unpackbits(random_words(stream_key(seed, _INIT_PURPOSE),
                                              (n_rep * n * t_len + 63) // 64).view(np.uint8),
                                 bitorder="little")[:n_rep * n * t_len]
            self._spins = (2 * bits.astype(np.int8) - 1).reshape(n_rep, n, t_len)
        else:
            spins = np.asarray(spins)
            if spins.shape != (n_copies, n_temps, n, t_len) or np.any(np.abs(spins) != 1):
                raise ParameterError(f"spins must be +-1 of shape {(n_copies, n_temps, n, t_len)}"
                                     f" [copy, rung, neuron, tick], got {spins.shape}.")
            self._spins = np.array(spins.reshape(n_rep, n, t_len), dtype=np.int8, order="C")
        self._keys = np.array([stream_key(seed, _SWEEP_PURPOSE, r) for r in range(n_rep)],
                              dtype=np.uint64)
        self._swap_key = stream_key(seed, _SWAP_PURPOSE)
        self._energies = ladder_energies(self._spins, couplings, K, fields, self._periodic)
        self.sweeps_done = 0
        self.rounds_done = 0
        self.reset_statistics()

    # ----------------------------------------------------------------- running
    def reset_statistics(self):
        """Zero the swap counters and the round-trip count (e.g. after equilibration)."""
        n_copies, n_temps = self._replica_at.shape
        self._attempts = np.zeros((n_copies, n_temps - 1), dtype=np.int64)
        self._accepts = np.zeros((n_copies, n_temps - 1), dtype=np.int64)
        self._round_trips = np.zeros(self._spins.shape[0], dtype=np.int64)
        # 1: last end visited was the coldest rung, 2: the hottest, 0: neither yet
        self._trip_state = np.where(self._rung_of == 0, 1, 0).astype(np.int8)

    def run(self, n_rounds, sweeps_per_round=1):
        """Run ``n_rounds`` of (``sweeps_per_round`` local sweeps, one swap half-step).

        Returns
        -------
        numpy.ndarray
            float64 (n_rounds, n_temperatures, n_copies), the energy at each rung after each
            round's swaps (a time series for error bars and equilibration checks).
        """
        if int(n_rounds) != n_rounds or n_rounds < 0:
            raise ParameterError(f"n_rounds must be an integer >= 0, got {n_rounds}.")
        if int(sweeps_per_round) != sweeps_per_round or sweeps_per_round < 1:
            raise ParameterError(f"sweeps_per_round must be an integer >= 1, got "
                                 f"{sweeps_per_round}.")
        update = self._update
        if update is None:
            from .kernels.local import local_sweeps as update
        c = self._couplings
        trace = np.empty((int(n_rounds), self._thetas.size, self._replica_at.shape[0]))
        for step in range(int(n_rounds)):
            update(self._spins, kind=c.kind, K=self._K, fields=self._fields,
                   betas=self._betas[self._rung_of], time_periodic=self._periodic,
                   method=self._method, n_sweeps=int(sweeps_per_round), keys=self._keys,
                   sweep_offset=self.sweeps_done, J_dense=self._J_dense, indptr=c.indptr,
                   indices=c.indices, weights=c.weights, J_all=c.J_all)
            self.sweeps_done += int(sweeps_per_round)
            self._energies = ladder_energies(self._spins, c, self._K, self._fields,
                                             self._periodic)
            _swap_step(self._energies, self._betas, self._replica_at, self._rung_of,
                       self.rounds_done % 2, self._swap_key, self.rounds_done, self._attempts,
                       self._accepts)
            self._count_round_trips()
            self.rounds_done += 1
            trace[step] = self._energies[self._replica_at.T]
        return trace

    def _count_round_trips(self):
        """Count round trips: coldest rung -> hottest rung -> coldest rung of one replica."""
        cold = self._rung_of == 0
        hot = self._rung_of == self._thetas.size - 1
        self._round_trips += cold & (self._trip_state == 2)
        self._trip_state[cold] = 1
        self._trip_state[hot & (self._trip_state == 1)] = 2

    # ----------------------------------------------------------------- results
    @property
    def thetas(self):
        """Temperatures of the rungs, float64 (n,)."""
        return self._thetas.copy()

    @property
    def betas(self):
        """Inverse temperatures of the rungs, float64 (n,)."""
        return self._betas.copy()

    @property
    def configurations(self):
        """Current spins at each rung, int8 (n_temperatures, n_copies, N, T) (a copy)."""
        return self._spins[self._replica_at.T]

    @property
    def energies(self):
        """Current energies at each rung, float64 (n_temperatures, n_copies)."""
        return self._energies[self._replica_at.T]

    @property
    def swap_attempts(self):
        """Swap proposals per copy and rung pair (k, k+1), int64 (n_copies, n - 1)."""
        return self._attempts.copy()

    @property
    def swap_accepts(self):
        """Accepted swaps per copy and rung pair (k, k+1), int64 (n_copies, n - 1)."""
        return self._accepts.copy()

    @property
    def acceptance(self):
        """Swap acceptance rate of each rung pair (k, k+1), float64 (n - 1,) (NaN if untried)."""
        attempts = self._attempts.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(attempts > 0, self._accepts.sum(axis=0) / attempts, np.nan)

    @property
    def round_trips(self):
        """Completed coldest -> hottest -> coldest trips, summed over replicas (int)."""
        return int(self._round_trips.sum())

    @property
    def rung_of_replica(self):
        """Rung currently held by each replica, int64 (n_copies * n,)."""
        return self._rung_of.copy()

    def overlaps(self):
        """Overlaps q_ab = mean_it s^a_it s^b_it between copies at each rung.

        Returns
        -------
        numpy.ndarray
            float64 (n_temperatures, n_pairs) for the pairs a < b of copies in
            ``numpy.triu_indices(n_copies, 1)`` order (empty if n_copies == 1).
        """
        config = self.configurations.astype(np.float64)
        n_temps, n_copies = config.shape[:2]
        flat = config.reshape(n_temps, n_copies, -1)
        q = np.matmul(flat, flat.transpose(0, 2, 1)) / flat.shape[2]
        a, b = np.triu_indices(n_copies, 1)
        return q[:, a, b]
