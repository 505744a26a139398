"""The lattice field theory of a neural population (MODEL.md section 2).

Neurons i = 0..N-1 times clock ticks t = 0..T-1, R independent replicas. The action is

    E[s] = - sum_t sum_{i<j} J_ij s_it s_jt - sum_t sum_i K_i s_it s_i,t+1 - sum_t sum_i h_it s_it

with P[s] proportional to exp(-E / theta) and h_it = h + h_i + u_t (uniform field, per-neuron
excitability, common time-locked drive). Spin configurations are int8 arrays (R, N, T) of +-1.
With periodic time and T == 2 the bond between the two ticks is counted twice (t=0 -> 1 and
t=1 -> 0), the usual torus convention.
"""

import difflib
import math
import numbers

import numpy as np
import param

from . import connectivity as conn
from .errors import MemoryBudgetError, ParameterError

DRIVES = ("constant", "step", "ramp", "pulse", "custom")
DEFAULT_MEMORY_LIMIT_BYTES = 8 * 2**30

#: Largest |coupling or field| / temperature accepted. The kernels work in float32 (relative
#: precision 2**-24 = 6e-8): below 1e4 the rounding of beta times a coupling stays under 1e-3, so
#: acceptance probabilities keep three digits, while exp(-2 * 1e4) is already 0 in float32 (it is
#: from beta |dE| = 104 on): larger ratios change no probability, only lose precision and
#: overflow float32 as theta shrinks (theta = 1e-300 makes beta = inf and beta * 0 = NaN).
MAX_COUPLING_OVER_TEMPERATURE = 1e4
_SMALLEST_TEMPERATURE = 1.0 / float(np.finfo(np.float32).max)   # beta stays finite in float32
_FINITE_NUMBERS = ("J", "K", "h", "sk_J0", "sk_spread", "drive_amplitude", "temperature")


#: The parameters the equal-time couplings depend on (besides custom_J).
_COUPLING_PARAMETERS = ("neurons", "connectivity", "J", "neuron_boundary", "grid_rows", "grid_cols",
                        "sk_J0", "sk_spread", "seed", "hopfield_patterns")


class LatticeModel(param.Parameterized):
    """Parameters of the space-time Ising action; builds couplings and fields on demand."""

    neurons = param.Integer(64, bounds=(1, None), softbounds=(2, 1024),
                            doc="Number of neurons N (the space axis of the lattice).")
    ticks = param.Integer(128, bounds=(1, None), softbounds=(2, 2048),
                          doc="Number of clock ticks T (time bins) per replica.")
    replicas = param.Integer(1, bounds=(1, None), softbounds=(1, 64),
                             doc="Independent replicas R (chains in a simulation, trials in data).")
    connectivity = param.Selector(objects=list(conn.CONNECTIVITIES), default="ring",
                                  doc="Preset for the equal-time couplings J_ij.")
    grid_rows = param.Integer(None, allow_None=True, bounds=(1, None), softbounds=(1, 64),
                              doc="Rows of the grid sheet (grid connectivity); rows x columns "
                                  "must equal the number of neurons. Empty: the most square "
                                  "factorisation of N.")
    grid_cols = param.Integer(None, allow_None=True, bounds=(1, None), softbounds=(1, 64),
                              doc="Columns of the grid sheet (grid connectivity).")
    J = param.Number(1.0, softbounds=(-2.0, 2.0),
                     doc="Equal-time coupling strength J (per pair for ring/grid, total for "
                         "all-to-all and Hopfield where J_ij = J/N).")
    sk_J0 = param.Number(0.0, softbounds=(-2.0, 2.0),
                         doc="SK glass: mean coupling J0 (J_ij = J0/N + g z_ij/sqrt(N)).")
    sk_spread = param.Number(1.0, bounds=(0.0, None), softbounds=(0.0, 3.0),
                             doc="SK glass: spread g of the random couplings.")
    hopfield_patterns = param.Integer(3, bounds=(1, None), softbounds=(1, 20),
                                      doc="Hopfield: number P of stored random patterns.")
    custom_J = param.Array(None, allow_None=True,
                           doc="Custom symmetric N x N coupling matrix (zero diagonal).")
    K = param.Number(1.0, softbounds=(-2.0, 2.0),
                     doc="Temporal coupling K of each neuron with itself one tick later.")
    K_per_neuron = param.Array(None, allow_None=True,
                               doc="Per-neuron temporal couplings K_i (N,), replaces K if set.")
    h = param.Number(0.0, softbounds=(-2.0, 2.0), doc="Uniform field h (all sites).")
    h_per_neuron = param.Array(None, allow_None=True,
                               doc="Per-neuron excitability h_i (N,), added to h.")
    drive = param.Selector(objects=list(DRIVES), default="constant",
                           doc="Shape of the common time-locked input u_t.")
    custom_drive = param.Array(None, allow_None=True,
                               doc="Custom drive u_t (T,) used when drive='custom' (e.g. a "
                                   "fitted time-locked input).")
    drive_amplitude = param.Number(0.0, softbounds=(-2.0, 2.0),
                                   doc="Amplitude of the drive u_t (energy units, like h).")
    drive_onset = param.Integer(0, bounds=(0, None), softbounds=(0, 2048),
                                doc="Tick at which a step, ramp or pulse starts.")
    drive_duration = param.Integer(1, bounds=(1, None), softbounds=(1, 512),
                                   doc="Ticks a pulse lasts, or a ramp takes to reach its top.")
    temperature = param.Number(2.269185, bounds=(0.0, None), inclusive_bounds=(False, True),
                               softbounds=(0.05, 6.0), doc="Temperature theta (beta = 1/theta).")
    time_boundary = param.Selector(objects=["periodic", "open"], default="periodic",
                                   doc="Periodic time (a torus) or open ends (like real data).")
    neuron_boundary = param.Selector(objects=["periodic", "open"], default="periodic",
                                     doc="Periodic or open boundary of the ring or grid.")
    seed = param.Integer(0, bounds=(0, 2**63 - 1),
                         doc="Seed of the quenched disorder (SK couplings, Hopfield patterns).")
    memory_limit_bytes = param.Integer(DEFAULT_MEMORY_LIMIT_BYTES, bounds=(2**20, None),
                                       doc="Requests whose estimated memory exceeds this are "
                                           "refused.")

    # ----------------------------------------------------------------- construction
    @classmethod
    def create(cls, **params):
        """Build and validate a model; an invalid value or unknown name raises ParameterError."""
        _check_names(cls, params)
        try:
            model = cls(**params)
        except ValueError as error:
            raise ParameterError(_clean_param_message(error)) from None
        model.validate()
        return model

    def update(self, **params):
        """Set several parameters at once, validating the result (atomic on error)."""
        _check_names(type(self), params)
        old = {name: getattr(self, name) for name in params}
        try:
            self.param.update(**params)
            self.validate()
        except (ValueError, ParameterError) as error:
            self.param.update(**old)
            if isinstance(error, ParameterError):
                raise
            raise ParameterError(_clean_param_message(error)) from None

    # ----------------------------------------------------------------- validation
    def validate(self):
        """Check cross-parameter consistency; raise :class:`ParameterError` naming the problem.

        Values must be finite, and every coupling or field divided by the temperature must stay
        below :data:`MAX_COUPLING_OVER_TEMPERATURE` (the engine's float32 arithmetic).
        """
        n = self.neurons
        for name in _FINITE_NUMBERS:
            if not math.isfinite(getattr(self, name)):
                raise ParameterError(f"{name} must be a finite number, got {getattr(self, name)}.")
        if self.temperature < _SMALLEST_TEMPERATURE:
            raise ParameterError(f"temperature must be at least {_SMALLEST_TEMPERATURE:.3g} "
                                 f"(1/temperature must fit in float32), got {self.temperature}.")
        if self.connectivity == "grid":
            self.grid_shape()
        if self.connectivity == "custom":
            if self.custom_J is None:
                raise ParameterError("connectivity='custom' needs custom_J, an N x N matrix.")
            if np.shape(self.custom_J) != (n, n):
                raise ParameterError(f"custom_J has shape {np.shape(self.custom_J)} but the model "
                                     f"has {n} neurons: give an {n} x {n} matrix.")
            custom = _numeric_array("custom_J", self.custom_J)
            if not np.all(np.isfinite(custom)):
                bad = tuple(int(i) for i in np.argwhere(~np.isfinite(custom))[0])
                raise ParameterError(f"custom_J has a non-finite entry at {bad}; every coupling "
                                     "must be a finite number.")
            self.couplings()     # symmetric, zero diagonal (kept for the engine)
        if self.drive == "custom":
            drive = self.custom_drive
            drive = None if drive is None else _numeric_array("custom_drive", drive)
            if drive is None or drive.shape != (self.ticks,) or not np.all(np.isfinite(drive)):
                raise ParameterError(f"drive='custom' needs custom_drive: {self.ticks} finite "
                                     "values, one per tick.")
        for name in ("K_per_neuron", "h_per_neuron"):
            values = getattr(self, name)
            if values is None:
                continue
            values = _numeric_array(name, values)
            if values.shape != (n,):
                raise ParameterError(f"{name} has shape {values.shape}; it needs one value per "
                                     f"neuron, shape ({n},).")
            if not np.all(np.isfinite(values)):
                raise ParameterError(f"{name} contains NaN or infinite values.")
        self.check_strengths()
        self.check_memory()

    def check_strengths(self):
        """Refuse a coupling or field whose size over the temperature leaves float32's range.

        Checks the parameters in use (|J| or |sk_J0| and sk_spread or the largest |custom_J|
        after the connectivity; |K| or the largest |K_per_neuron|; |h|, the largest
        |h_per_neuron|; |drive_amplitude| or the largest |custom_drive|), each divided by theta,
        against :data:`MAX_COUPLING_OVER_TEMPERATURE`.
        """
        used = {"sk": ["sk_J0", "sk_spread"], "custom": []}.get(self.connectivity, ["J"])
        used += ["K"] if self.K_per_neuron is None else []
        used += ["h"] + (["drive_amplitude"] if self.drive != "custom" else [])
        strengths = {name: abs(getattr(self, name)) for name in used}
        arrays = {"custom_J": self.custom_J if self.connectivity == "custom" else None,
                  "K_per_neuron": self.K_per_neuron, "h_per_neuron": self.h_per_neuron,
                  "custom_drive": self.custom_drive if self.drive == "custom" else None}
        for name, values in arrays.items():
            if values is not None and np.size(values):
                strengths[f"the largest |{name}|"] = float(np.max(np.abs(
                    np.asarray(values, dtype=np.float64))))
        limit = MAX_COUPLING_OVER_TEMPERATURE
        for name, value in strengths.items():
            if value / self.temperature >= limit:
                raise ParameterError(
                    f"{name} / temperature = {value:.3g} / {self.temperature:.3g} = "
                    f"{value / self.temperature:.3g} must be below {limit:g}: the engine's float32 "
                    "arithmetic loses such couplings (exp(-2e4) is already 0). Raise the "
                    "temperature or scale the couplings down.")

    def grid_shape(self):
        """(rows, cols) of the grid sheet; raises when it does not match the neuron count."""
        n = self.neurons
        rows, cols = self.grid_rows, self.grid_cols
        if rows is None and cols is None:
            rows = max(r for r in range(1, math.isqrt(n) + 1) if n % r == 0)
            return rows, n // rows
        if rows is None:
            rows = n // cols if n % cols == 0 else None
        elif cols is None:
            cols = n // rows if n % rows == 0 else None
        if rows is None or cols is None or rows * cols != n:
            raise ParameterError(f"grid shape {self.grid_rows} x {self.grid_cols} does not match "
                                 f"{n} neurons: rows x columns must equal the number of neurons.")
        return rows, cols

    def memory_estimate_bytes(self, *, dense_fields=None):
        """Rough peak memory of sampling this model, in bytes.

        Spins (1 byte per site), per-site fields (8 bytes per site), cached local fields for
        dense couplings (8 bytes per site and replica) and the couplings themselves.
        """
        n, t, r = self.neurons, self.ticks, self.replicas
        sites = n * t
        dense = self.connectivity in ("sk", "hopfield", "custom") if dense_fields is None \
            else dense_fields
        total = r * sites * 2 + sites * 8
        if dense:
            total += r * sites * 8 + n * n * 16
        elif self.connectivity == "all-to-all":
            total += n * n * 24  # CSR lists, kept for the cluster algorithm
        return total

    def check_memory(self):
        """Raise :class:`MemoryBudgetError` when the model would not fit in memory."""
        need = self.memory_estimate_bytes()
        if need > self.memory_limit_bytes:
            raise MemoryBudgetError(
                f"{self.neurons} neurons x {self.ticks} ticks x {self.replicas} replicas "
                f"({self.connectivity}) needs about {need / 2**30:.1f} GiB, more than the limit of "
                f"{self.memory_limit_bytes / 2**30:.1f} GiB: use fewer neurons, ticks or replicas.")

    # ----------------------------------------------------------------- derived arrays
    @property
    def beta(self):
        """Inverse temperature 1/theta."""
        return 1.0 / self.temperature

    @property
    def time_periodic(self):
        """True for periodic time."""
        return self.time_boundary == "periodic"

    @property
    def neuron_periodic(self):
        """True for a periodic ring or grid."""
        return self.neuron_boundary == "periodic"

    def couplings(self):
        """The equal-time couplings of the chosen preset, a :class:`Couplings` (do not modify).

        Kept until a parameter they depend on changes: the engine asks for them at every
        parameter change, and building them costs tens of ms for a few hundred neurons (SK,
        all-to-all), which a temperature slider would pay at every move.
        """
        key = tuple(getattr(self, name) for name in _COUPLING_PARAMETERS)
        custom = None if self.connectivity != "custom" else np.array(self.custom_J, dtype=float)
        memo = getattr(self, "_couplings_memo", None)
        if (memo is None or memo[0] != key
                or (custom is not None and not np.array_equal(memo[1], custom))):
            memo = self._couplings_memo = (key, custom, self._build_couplings())
        return memo[2]

    def _build_couplings(self):
        n, c = self.neurons, self.connectivity
        if c == "all-to-all":
            return conn.all_to_all(n, self.J)
        if c == "ring":
            return conn.ring(n, self.J, self.neuron_periodic)
        if c == "grid":
            rows, cols = self.grid_shape()
            return conn.grid(rows, cols, self.J, self.neuron_periodic)
        if c == "sk":
            return conn.sherrington_kirkpatrick(n, self.sk_J0, self.sk_spread, self.seed)
        if c == "hopfield":
            return conn.hopfield(n, self.J, self.hopfield_patterns, self.seed)
        return conn.from_matrix(self.custom_J)

    def patterns(self):
        """Stored Hopfield patterns, int8 (P, N) (Hopfield connectivity only)."""
        return conn.hopfield_patterns(self.neurons, self.hopfield_patterns, self.seed)

    def temporal_couplings(self):
        """K_i, float64 (N,)."""
        if self.K_per_neuron is not None:
            return np.asarray(self.K_per_neuron, dtype=np.float64).copy()
        return np.full(self.neurons, float(self.K))

    def drive_series(self):
        """The common drive u_t, float64 (T,)."""
        t = np.arange(self.ticks)
        a, onset, width = self.drive_amplitude, self.drive_onset, self.drive_duration
        if self.drive == "constant":
            return np.full(self.ticks, float(a))
        if self.drive == "custom":
            return np.asarray(self.custom_drive, dtype=np.float64).copy()
        if self.drive == "step":
            return np.where(t >= onset, a, 0.0)
        if self.drive == "ramp":
            return a * np.clip((t - onset + 1) / width, 0.0, 1.0)
        return np.where((t >= onset) & (t < onset + width), a, 0.0)

    def fields(self):
        """h_it = h + h_i + u_t, float64 (N, T)."""
        per_neuron = np.zeros(self.neurons) if self.h_per_neuron is None \
            else np.asarray(self.h_per_neuron, dtype=np.float64)
        return self.h + per_neuron[:, None] + self.drive_series()[None, :]

    @property
    def uniform_field(self):
        """True when h_it is the same at every site."""
        if self.drive == "custom":
            return False
        return self.h_per_neuron is None and (self.drive == "constant"
                                              or self.drive_amplitude == 0.0)

    def energy(self, spins, couplings=None):
        """Energy of each replica, float64 (R,), for int8 spins (R, N, T) (or (N, T) -> scalar).

        Implements the action of the module docstring exactly, with the chosen time boundary.
        """
        spins = np.asarray(spins)
        single = spins.ndim == 2
        s = (spins[None] if single else spins).astype(np.float64)
        if s.ndim != 3 or s.shape[1:] != (self.neurons, self.ticks):
            raise ParameterError(f"spins have shape {spins.shape}; this model needs (R, "
                                 f"{self.neurons}, {self.ticks}) or "
                                 f"({self.neurons}, {self.ticks}).")
        couplings = couplings or self.couplings()
        equal_time = 0.5 * (s * couplings.local_fields(s)).sum(axis=(1, 2))
        k = self.temporal_couplings()[None, :, None]
        temporal = (k * s[:, :, :-1] * s[:, :, 1:]).sum(axis=(1, 2))
        if self.time_periodic and self.ticks > 1:
            temporal = temporal + (k[:, :, 0] * s[:, :, -1] * s[:, :, 0]).sum(axis=1)
        field = (self.fields()[None] * s).sum(axis=(1, 2))
        energy = -equal_time - temporal - field
        return energy[0] if single else energy

    def critical_temperature(self):
        """theta_c where an exact or mean-field result is known for these couplings, else None.

        Ring x periodic time with h = 0: the Onsager/anisotropic line sinh(2J/theta) sinh(2K/theta)
        = 1 (MODEL.md E1, E2; exact for N, T -> infinity; none for a ring of 1 or 2 neurons, a
        chain or a ladder). All-to-all: the mean-field line
        (J/theta) chi_T = 1 of E5 (E4 when K = 0).
        """
        if self.K_per_neuron is not None or not self.uniform_field or self.h != 0:
            return None
        if self.connectivity == "ring" and self.neurons >= 3 and self.J > 0 and self.K > 0:
            def line(theta):  # log of sinh(2J/theta) sinh(2K/theta), overflow-free
                return _log_sinh(2 * self.J / theta) + _log_sinh(2 * self.K / theta)
            return _decreasing_root(line, 1e-3 * (self.J + self.K), 10 * (self.J + self.K))
        if self.connectivity == "all-to-all" and self.J > 0:
            return _all_to_all_critical_temperature(self.J, self.K, self.ticks)
        return None

    def describe(self):
        """One line naming the special case the parameters fall into (MODEL.md section 2)."""
        static = self.drive != "custom" and (self.uniform_field or self.drive_amplitude == 0.0)
        if self.K == 0 and self.K_per_neuron is None and static:
            return ("K = 0: independent time slices, each a pairwise maximum-entropy (Ising) model "
                    "(Schneidman 2006).")
        if self.connectivity in ("ring", "grid") and self.J == 0:
            return "J = 0: N independent 1-D Ising chains along time."
        if self.connectivity == "ring" and self.neurons <= 2:
            return ("One neuron: a 1-D Ising chain along time (no phase transition)."
                    if self.neurons == 1 else
                    "Two neurons: a ladder of two coupled chains (no phase transition).")
        if (self.connectivity == "ring" and self.time_periodic and self.neuron_periodic
                and self.K == self.J and self.K_per_neuron is None):
            return "Ring + periodic time + K = J: the isotropic 2-D Ising model on a torus."
        return "Space-time lattice field theory: equal-time and temporal couplings."


def _log_sinh(x):
    """log(sinh(x)) for x > 0 without overflow."""
    return x + math.log1p(-math.exp(-2 * x)) - math.log(2.0)


def _all_to_all_critical_temperature(J, K, ticks):
    """Mean-field theta_c of E5: (J/theta) chi_T(K/theta) = 1 with a periodic chain of T ticks."""

    def temporal_susceptibility(theta):
        tau = math.tanh(K / theta)
        if tau >= 1.0:
            return float(ticks)
        tau_t = tau**ticks
        return (1 + tau) * (1 - tau_t) / ((1 - tau) * (1 + tau_t))

    def line(theta):
        return J / theta * temporal_susceptibility(theta) - 1.0

    high = J * (ticks + 1.0) + abs(K) * 10 + 1.0
    return _decreasing_root(line, 1e-3 * J, high) if line(high) < 0 < line(1e-3 * J) else None


def _decreasing_root(f, low, high):
    """The root of a decreasing f on [low, high] (f(low) > 0 > f(high)), to the last bit.

    Bisection until the bracket cannot shrink (about 60 steps); it keeps SciPy's optimisers,
    whose import takes about 0.1 s, off the dashboard's start-up.
    """
    while True:
        middle = 0.5 * (low + high)
        if middle in (low, high):
            return middle
        if f(middle) > 0:
            low = middle
        else:
            high = middle


def check_integer(name, value, low, high=None):
    """``value`` as an int, or :class:`ParameterError` naming ``name`` and the range [low, high].

    Accepts Python and NumPy integers (not bools, floats or strings).
    """
    valid = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if not valid or value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"between {low} and {high}"
        raise ParameterError(f"{name} must be an integer {span}, got {value!r}.")
    return int(value)


def _check_names(cls, params):
    """Raise :class:`ParameterError` for a name that is not a parameter, suggesting the nearest."""
    known = list(cls.param)
    for name in params:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ParameterError(f"unknown model parameter {name!r}: {hint}valid names are "
                                 f"{', '.join(sorted(known))}.")


def _numeric_array(name, values):
    """``values`` as float64, or :class:`ParameterError` naming ``name`` if they are not numbers."""
    array = np.asarray(values)
    if array.dtype.kind in "biuf":
        return array.astype(np.float64)
    if array.dtype.kind == "O":
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError):
            pass
    raise ParameterError(f"{name} must hold real numbers, got an array of dtype {array.dtype}.")


def _clean_param_message(error):
    """Turn param's ValueError text into a user-facing message naming the parameter."""
    text = str(error).replace("LatticeModel.", "")
    return f"invalid model parameter: {text}"
