"""The engine's update paths behind one interface.

A path owns the current configurations of R replicas of one model and advances them:

- :class:`FastPath`: multi-spin coding (64 spins per word) for ring or grid x time with uniform
  couplings and field (``kernels.multispin``);
- :class:`LocalPath`: one byte per spin, heat bath or Metropolis, any couplings (``kernels.local``);
- :class:`ClusterPath`: Wolff clusters for ferromagnetic couplings (``kernels.cluster``).

Every path exposes ``sweep(n)``, ``spins()`` (int8 (R, N, T) copy), ``moments()`` (energy and
magnetisation per site, float64 (R,) each), ``set_spins``, ``reload_model`` (after a change of
couplings, fields or temperature through the model) and
``flips_per_sweep`` (site updates one sweep attempts).
"""

import numpy as np

from .errors import AlgorithmError, ParameterError
from .kernels import multispin
from .kernels.rng import random_words, stream_key

PATHS = ("fast", "local", "cluster")
ALGORITHMS = ("auto", "metropolis", "heatbath", "cluster")

_INIT_PURPOSE = 0x1717


INITIAL_STATES = ("random", "up", "pattern")


def initial_spins(model, initial, seed):
    """Starting configurations, int8 (R, N, T).

    ``"random"``: a hot start (independent +-1); ``"up"``: a cold start (all +1); ``"pattern"``:
    the first stored Hopfield pattern in every tick with 10% of the sites flipped at random (a
    noisy cue for memory retrieval; Hopfield connectivity only).
    """
    shape = (model.replicas, model.neurons, model.ticks)
    if initial == "random":
        return random_spins(shape, seed)
    if initial == "up":
        return np.ones(shape, dtype=np.int8)
    if initial == "pattern":
        if model.connectivity != "hopfield":
            raise ParameterError("initial state 'pattern' needs Hopfield connectivity.")
        cue = np.broadcast_to(model.patterns()[0][None, :, None], shape)
        uniform = random_words(stream_key(seed, _INIT_PURPOSE, 1), int(np.prod(shape)))
        flip = (uniform.reshape(shape) >> np.uint64(11)) * 2.0**-53 < 0.1
        return np.where(flip, -cue, cue).astype(np.int8)
    raise ParameterError(f"unknown initial state {initial!r}; choose one of "
                         f"{', '.join(INITIAL_STATES)}.")


def random_spins(shape, seed):
    """Hot start: independent +-1 spins, int8 ``shape``, reproducible from ``seed``."""
    key = stream_key(seed, _INIT_PURPOSE)
    count = int(np.prod(shape))
    bits = _random_bits(key, count)
    return np.where(bits, 1, -1).astype(np.int8).reshape(shape)


def _random_bits(key, count):
    words = random_words(key, (count + 63) // 64)
    return np.unpackbits(words.view(np.uint8), bitorder="little")[:count].astype(bool)


def choose_path(model, algorithm, allow_fast=True):
    """The update path for ``model`` and ``algorithm``, and a sentence explaining the choice.

    ``allow_fast=False`` keeps eligible lattices on the general path (benchmarks, cross-checks).
    """
    if algorithm not in ALGORITHMS:
        raise ParameterError(f"unknown algorithm {algorithm!r}; "
                             f"choose one of {', '.join(ALGORITHMS)}.")
    if algorithm == "cluster":
        couplings = model.couplings()
        negative_k = model.K_per_neuron is not None and np.any(np.asarray(model.K_per_neuron) < 0)
        if not couplings.ferromagnetic or model.K < 0 or negative_k:
            raise AlgorithmError("the cluster algorithm needs ferromagnetic couplings (J_ij >= 0 "
                                 "and K >= 0); use algorithm 'heatbath' or 'metropolis'.")
        return "cluster", "Wolff cluster updates (ferromagnetic couplings)."
    uniform = model.K_per_neuron is None and model.uniform_field
    if not allow_fast:
        return "local", "general path (requested)."
    if model.connectivity in ("ring", "grid") and uniform:
        grid_shape = model.grid_shape() if model.connectivity == "grid" else None
        ok, reason = multispin.fast_path_supported(model.connectivity, model.neurons, model.ticks,
                                                   grid_shape, model.neuron_periodic,
                                                   model.time_periodic)
        if ok:
            return "fast", "multi-spin coding (64 spins per word)."
        return "local", f"general path: {reason}"
    return "local", "general path (one byte per spin)."


#: "auto" takes heat bath when some neuron's largest possible |dE| / theta is below this:
#: Metropolis would then flip that neuron's spins with probability above exp(-0.1) = 0.90 at
#: every sweep, an almost periodic chain (exactly periodic when the neuron feels nothing).
WEAK_COUPLING = 0.1


def choose_method(model, algorithm):
    """The single-spin acceptance rule for ``algorithm``, and a sentence when "auto" picked it.

    ``"heatbath"`` and ``"metropolis"`` are taken as asked (the cluster path ignores the rule).
    ``"auto"`` means Metropolis, min(1, exp(-beta dE)), which accepts more moves, except when
    some neuron is (almost) free: every move of its spins has |dE| / theta below
    :data:`WEAK_COUPLING`. Metropolis then flips those spins at almost every sweep and the
    chain is nearly periodic; with J = K = h = 0 it is periodic, not ergodic (|m| = 0 exactly
    and a NaN Binder cumulant), and at theta = 1e300 every spin flips at every sweep. Heat
    bath, 1 / (1 + exp(beta dE)), redraws such a spin as an almost fair coin, so "auto" takes it.
    """
    if algorithm != "auto":
        return ("heatbath" if algorithm == "heatbath" else "metropolis"), ""
    if np.min(largest_energy_changes(model)) < WEAK_COUPLING * model.temperature:
        return "heatbath", ("heat bath: some neurons feel almost no coupling or field at this "
                            "temperature, and Metropolis would flip their spins at almost every "
                            "sweep.")
    return "metropolis", ""


def largest_energy_changes(model):
    """An upper bound of |dE| for flipping a spin of each neuron: float64 (N,), energy units.

    ``2 (sum_j |J_ij| + z |K_i| + max_t |h_it|)`` with ``z`` the most temporal bonds of a
    tick (the action's, :meth:`.LatticeModel.energy`): none for one tick, one for two open
    ticks, two otherwise (two periodic ticks are bonded twice).
    """
    couplings = model.couplings()
    rows = np.repeat(np.arange(model.neurons), np.diff(couplings.indptr))
    equal_time = np.bincount(rows, weights=np.abs(couplings.weights), minlength=model.neurons)
    if model.ticks == 1:
        time_bonds = 0
    else:
        time_bonds = 1 if model.ticks == 2 and not model.time_periodic else 2
    temporal = time_bonds * np.abs(model.temporal_couplings())
    field = np.max(np.abs(model.fields()), axis=1)
    return 2.0 * (equal_time + temporal + field)


class _Path:
    """Shared bookkeeping of the update paths."""

    def __init__(self, model, method, seed, spins):
        self.model = model
        self.method = method
        self.seed = seed
        self.sweeps_done = 0
        self.keys = np.array([stream_key(seed, replica) for replica in range(model.replicas)],
                             dtype=np.uint64)
        self.sites = model.neurons * model.ticks
        self._load_model()
        self.set_spins(spins)

    @property
    def flips_per_sweep(self):
        """Site updates attempted per sweep, all replicas together."""
        return self.sites * self.model.replicas

    def reload_model(self):
        """Rebuild couplings and fields after a model change of the same lattice size."""
        self._load_model()

    def moments(self):
        """Energy and magnetisation per site of each replica, float64 (R,) each."""
        spins = self.spins()
        energy = self.model.energy(spins, self._couplings) / self.sites
        return energy, spins.mean(axis=(1, 2), dtype=np.float64)


class FastPath(_Path):
    """Multi-spin coded ring/grid x time lattices with uniform J, K, h."""

    name = "fast"

    def _load_model(self):
        model = self.model
        grid_shape = model.grid_shape() if model.connectivity == "grid" else None
        self._couplings = model.couplings()
        self._neighbours = multispin.neighbour_table(model.connectivity, model.neurons, grid_shape,
                                                     model.neuron_periodic)
        if hasattr(self, "_lattice"):    # a reload may change the neuron boundary
            self._lattice = multispin.WorkingLattice(self._lattice.words(), self._neighbours)

    def set_spins(self, spins):
        """Replace the configurations (int8 (R, N, T)); they stay in the sweep layout."""
        words = multispin.pack(np.ascontiguousarray(spins, dtype=np.int8))
        self._lattice = multispin.WorkingLattice(words, self._neighbours)

    def spins(self):
        """Copy of the configurations, int8 (R, N, T)."""
        return multispin.unpack(self._lattice.words(), self.model.ticks)

    def sweep(self, n_sweeps):
        """Advance every replica by ``n_sweeps``; returns flips per replica (int64 (R,))."""
        m = self.model
        flips = self._lattice.sweep(m.J, m.K, m.h, m.beta, m.time_periodic, self.method,
                                    n_sweeps, self.keys, self.sweeps_done)
        self.sweeps_done += n_sweeps
        return flips

    def moments(self):
        """Energy and magnetisation per site from popcounts of the packed words."""
        m = self.model
        mag, j_bonds, k_bonds = multispin.packed_moments(self._lattice.words(), self._neighbours,
                                                         m.time_periodic)
        return self._per_site(m, mag, j_bonds, k_bonds)

    def sweep_measured(self, n_sweeps, measure_every):
        """Advance by ``n_sweeps`` and measure, in one kernel call.

        Measures after every sweep number divisible by ``measure_every`` (see
        ``WorkingLattice.sweep_measured``). Returns flips per replica int64 (R,), the sweep
        numbers of the measurements int64 (k,), and energy and magnetisation per site, float64
        (k, R) each, as :meth:`moments`.
        """
        m = self.model
        flips, measured_at, sums = self._lattice.sweep_measured(
            m.J, m.K, m.h, m.beta, m.time_periodic, self.method, n_sweeps, self.keys,
            self.sweeps_done, measure_every)
        self.sweeps_done += n_sweeps
        energy, magnetization = self._per_site(m, sums[:, 0], sums[:, 1], sums[:, 2])
        return flips, measured_at, energy, magnetization

    def _per_site(self, m, mag, j_bonds, k_bonds):
        """Energy and magnetisation per site (float64) from the sums of :func:`packed_moments`."""
        energy = -(m.J * j_bonds + m.K * k_bonds + m.h * mag) / self.sites
        return energy.astype(np.float64), mag / self.sites


class _BytePath(_Path):
    """One byte per spin: couplings, K and fields of the model, spins as int8 (R, N, T)."""

    def _load_model(self):
        m = self.model
        self._couplings = m.couplings()
        self._K = m.temporal_couplings()
        self._fields = np.ascontiguousarray(m.fields())
        kind = self._couplings.kind
        self._J_dense = self._couplings.dense() if kind == "dense" else None

    def set_spins(self, spins):
        """Replace the configurations (int8 (R, N, T))."""
        self._spins = np.array(spins, dtype=np.int8, order="C")

    def spins(self):
        """Copy of the configurations, int8 (R, N, T)."""
        return self._spins.copy()

    def moments(self):
        """Energy and magnetisation per site of each replica, float64 (R,) each.

        The action of ``model.energy`` with the couplings, K and fields loaded by
        ``_load_model`` (nothing is rebuilt per measurement).
        """
        from .kernels.byte_moments import byte_moments
        c = self._couplings
        energy, magnetization = byte_moments(self.spins(), c.kind == "all-to-all", c.J_all,
                                             c.indptr, c.indices, c.weights, self._K,
                                             self._fields, self.model.time_periodic)
        return energy / self.sites, magnetization / self.sites


class LocalPath(_BytePath):
    """Heat bath or Metropolis with one byte per spin for any couplings and fields.

    The replicas live in a resident :class:`kernels.local.LocalState` (checkerboard layout,
    slice sums, cached dense fields) between sweeps; ``spins()`` reads them out.
    """

    name = "local"

    def _load_model(self):
        spins = self.spins() if hasattr(self, "_state") else None
        super()._load_model()
        if spins is not None:
            self.set_spins(spins)

    def set_spins(self, spins):
        """Replace the configurations (int8 (R, N, T))."""
        from .kernels.local import LocalState
        c = self._couplings
        self._state = LocalState(
            np.ascontiguousarray(spins, dtype=np.int8), kind=c.kind, K=self._K,
            fields=self._fields, time_periodic=self.model.time_periodic, J_dense=self._J_dense,
            indptr=c.indptr, indices=c.indices, weights=c.weights, J_all=c.J_all)

    def spins(self):
        """Copy of the configurations, int8 (R, N, T)."""
        return self._state.spins()

    def sweep(self, n_sweeps):
        """Advance every replica by ``n_sweeps``; returns flips per replica (int64 (R,))."""
        m = self.model
        flips = self._state.sweep(betas=np.full(m.replicas, m.beta), method=self.method,
                                  n_sweeps=n_sweeps, keys=self.keys,
                                  sweep_offset=self.sweeps_done)
        self.sweeps_done += n_sweeps
        return flips

    def moments(self):
        """Energy and magnetisation per site of each replica, float64 (R,) each.

        Read from the resident layout, with the couplings and fields the state was built from.
        """
        energy, magnetization = self._state.moments()
        return energy / self.sites, magnetization / self.sites

    def sweep_measured(self, n_sweeps, measure_every):
        """Advance by ``n_sweeps`` and measure after every multiple of ``measure_every``.

        Returns flips per replica int64 (R,), the sweep numbers measured int64 (k,), and energy
        and magnetisation per site float64 (k, R) each, as :meth:`moments`.
        """
        m = self.model
        flips, measured_at, energy, magnetization = self._state.sweep_measured(
            betas=np.full(m.replicas, m.beta), method=self.method, n_sweeps=n_sweeps,
            keys=self.keys, sweep_offset=self.sweeps_done, measure_every=measure_every)
        self.sweeps_done += n_sweeps
        return flips, measured_at, energy / self.sites, magnetization / self.sites


class ClusterPath(_BytePath):
    """Wolff cluster flips; ``sweep(n)`` runs n sweep-equivalents.

    A sweep-equivalent is the number of cluster flips that flips about N*T spins. For each
    model (and temperature) the first CALIBRATION_SWEEPS sweep-equivalents flip clusters in
    batches until N*T spins have flipped; then N*T / (mean cluster size of their second half)
    updates are held fixed, so that the work done does not depend on the current state.
    (Clusters grow as a hot start orders: a count fixed from the hot start's first clusters
    made a sweep at theta_c flip 2000 N*T spins.)
    """

    name = "cluster"
    _FIRST_BATCH = 1
    CALIBRATION_SWEEPS = 32

    def _load_model(self):
        super()._load_model()
        self._updates_per_sweep = None
        self._calibration_left = self.CALIBRATION_SWEEPS
        self._calibration_counts = np.zeros((2, self.model.replicas), dtype=np.int64)
        self._calls = getattr(self, "_calls", 0)

    def _cluster(self, n_updates):
        from .kernels import cluster
        c, m = self._couplings, self.model
        self._calls += 1
        return cluster.cluster_sweeps(
            self._spins, indptr=c.indptr, indices=c.indices, weights=c.weights, K=self._K,
            fields=self._fields, betas=np.full(m.replicas, m.beta),
            time_periodic=m.time_periodic, n_updates=n_updates, keys=self.keys,
            sweep_offset=self._calls)

    def _calibration_sweep(self):
        """Flip clusters until every replica has flipped N*T spins (or made N*T updates).

        Returns the spins flipped and the updates made, int64 (R,) each. Each batch is the
        updates the latest batch's mean cluster size predicts for the spins still to flip, at
        most as many as made so far (one cluster can flip the whole lattice). N*T updates, the
        cost of one-spin clusters, end it too: a strong field can refuse every cluster.
        """
        replicas = self.model.replicas
        flipped = np.zeros(replicas, dtype=np.int64)
        updates = np.zeros(replicas, dtype=np.int64)
        batch = np.full(replicas, self._FIRST_BATCH, dtype=np.int64)
        while True:
            active = (flipped < self.sites) & (updates < self.sites)
            if not active.any():
                return flipped, updates
            batch = np.where(active, np.minimum(batch, self.sites - updates), 0)
            last = self._cluster(batch)
            flipped += last
            updates += batch
            mean_size = np.maximum(last, 1) / np.maximum(batch, 1)   # clusters grow: the latest
            predicted = np.ceil((self.sites - flipped) / mean_size).astype(np.int64)
            batch = np.clip(predicted, 1, np.maximum(updates, 1))

    def sweep(self, n_sweeps):
        """Advance every replica by ``n_sweeps`` sweep-equivalents of cluster flips.

        Returns the spins flipped per replica, int (R,).
        """
        flips = np.zeros(self.model.replicas, dtype=np.int64)
        while n_sweeps > 0 and self._calibration_left > 0:
            flipped, updates = self._calibration_sweep()
            if self._calibration_left <= self.CALIBRATION_SWEEPS // 2:   # ordered by then
                self._calibration_counts += (flipped, updates)
            flips += flipped
            n_sweeps -= 1
            self._calibration_left -= 1
            self.sweeps_done += 1
        if self._updates_per_sweep is None and self._calibration_left == 0:
            from .kernels import cluster
            flipped_sum, updates_sum = self._calibration_counts   # N*T / mean cluster size
            self._updates_per_sweep = cluster.sweep_equivalent_updates(
                flipped_sum, updates_sum, self.sites)
        if n_sweeps > 0:
            flips += self._cluster(self._updates_per_sweep * n_sweeps)
            self.sweeps_done += n_sweeps
        return flips


def build_path(model, algorithm="auto", seed=0, spins=None, allow_fast=True, initial="random"):
    """The update path for ``model``, started from ``spins`` or a hot start from ``seed``.

    Returns
    -------
    path : FastPath | LocalPath | ClusterPath
    reason : str
        Why this path was chosen (shown to users).
    """
    model.validate()
    name, reason = choose_path(model, algorithm, allow_fast)
    shape = (model.replicas, model.neurons, model.ticks)
    if spins is None:
        spins = initial_spins(model, initial, seed)
    elif np.shape(spins) != shape:
        raise ParameterError(f"initial spins have shape {np.shape(spins)}, expected {shape}.")
    method, method_reason = choose_method(model, algorithm)
    if method_reason and name != "cluster":
        reason = f"{reason} {method_reason[0].upper()}{method_reason[1:]}"
    cls = {"fast": FastPath, "local": LocalPath, "cluster": ClusterPath}[name]
    return cls(model, method, seed, spins), reason
