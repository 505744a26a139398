"""Exact enumeration of small neural lattices and the spin <-> lattice-gas map (MODEL.md E6, E7).

The action (MODEL.md section 2), for spins ``s_it = +-1`` on an N x T lattice::

    E[s] = - sum_t sum_{i<j} J_ij s_it s_jt - sum_t sum_i K_i s_it s_i,t+1 - sum_t sum_i h_it s_it

with ``P[s] = exp(-beta E[s]) / Z``. Time boundary: periodic (tick T-1 bonds to tick 0) or open
(no bond between T-1 and 0, so the end ticks have one temporal neighbour). Special cases: for
T == 1 there is no temporal bond at all; for T == 2 with periodic time the bonds (0, 1) and (1, 0)
are both counted, so the two ticks are coupled by 2 K_i.

Sites are flattened as ``a = i * T + t`` (C order of an (N, T) array). In the enumeration, state
number ``k`` (0 <= k < 2**(N T)) has ``s_a = +1`` when bit ``a`` of ``k`` is set, else ``-1``.
Everything here is plain numpy (no compilation): the sites are split into two halves so that the
2**(N T) energies come from one small matrix product; 2**20 states take about 0.1 s.
"""

import numpy as np

from neurolattice_core.errors import MemoryBudgetError, ParameterError

MAX_ENUMERATION_SITES = 20
"""Largest number of sites N * T that exact enumeration accepts (2**20 states)."""


# --------------------------------------------------------------------------- validation
def _as_float_array(x, name, ndim):
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be a float64 array, got a bool")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from exc
    if arr.ndim != ndim:
        raise ParameterError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} must be finite (no NaN or inf)")
    return arr


def _validate_model(J, K, fields, time_periodic):
    """Check (J, K, fields, time_periodic); return float64 copies and (N, T)."""
    J = _as_float_array(J, "J", 2)
    n = J.shape[0]
    if J.shape != (n, n) or n < 1:
        raise ParameterError(f"J must be a square (N, N) matrix with N >= 1, got shape {J.shape}")
    scale = max(1.0, float(np.max(np.abs(J))) if J.size else 1.0)
    if np.max(np.abs(J - J.T)) > 1e-12 * scale:
        raise ParameterError("J must be symmetric (J_ij == J_ji)")
    if np.any(np.diag(J) != 0.0):
        raise ParameterError("J must have a zero diagonal (no self-coupling)")
    K = _as_float_array(K, "K", 1)
    if K.shape != (n,):
        raise ParameterError(f"K must have shape (N,) = ({n},), got {K.shape}")
    fields = _as_float_array(fields, "fields", 2)
    if fields.shape[0] != n or fields.shape[1] < 1:
        raise ParameterError(f"fields must have shape (N, T) = ({n}, T >= 1), got {fields.shape}")
    if not isinstance(time_periodic, (bool, np.bool_)):
        raise TypeError(f"time_periodic must be a bool, got {type(time_periodic).__name__}")
    return J, K, fields, bool(time_periodic), n, fields.shape[1]


def _validate_beta(beta):
    if isinstance(beta, (bool, np.bool_)) or not np.isscalar(beta):
        raise TypeError(f"beta must be a real number, got {type(beta).__name__}")
    beta = float(beta)
    if not np.isfinite(beta) or beta < 0.0:
        raise ParameterError(f"beta must be finite and >= 0 (beta = 1/theta), got {beta}")
    return beta


def _check_sites(n_sites, limit):
    if n_sites > limit:
        raise MemoryBudgetError(
            f"exact enumeration needs N*T <= {limit} sites (2**{limit} states); got N*T = "
            f"{n_sites}. Use the sampling engine for larger lattices."
        )


# --------------------------------------------------------------------------- energies
def temporal_degree(n_ticks, time_periodic):
    """Count the temporal bonds touching each tick, with multiplicity.

    Parameters
    ----------
    n_ticks : int
        T >= 1.
    time_periodic : bool
        Periodic or open time.

    Returns
    -------
    numpy.ndarray, int64, shape (T,)
        2 everywhere for periodic time with T >= 2 (for T == 2 the double bond counts twice);
        for open time 1 at the end ticks and 2 inside; all zero for T == 1.
    """
    deg = np.zeros(n_ticks, dtype=np.int64)
    if n_ticks == 1:
        return deg
    deg[:] = 2
    if not time_periodic:
        deg[0] = deg[-1] = 1
    return deg


def site_coupling_matrix(J, K, n_ticks, time_periodic):
    """Full symmetric coupling matrix A of the flattened lattice, E = -s.A.s/2 - h.s.

    Parameters
    ----------
    J : numpy.ndarray, float64, shape (N, N)
        Symmetric equal-time couplings, zero diagonal.
    K : numpy.ndarray, float64, shape (N,)
        Temporal couplings.
    n_ticks : int
        T >= 1.
    time_periodic : bool
        Periodic or open time (T == 2 periodic: the two ticks are coupled by 2 K_i).

    Returns
    -------
    numpy.ndarray, float64, shape (N*T, N*T)
        ``A[a, b]`` with sites ``a = i*T + t``; zero diagonal.
    """
    n = J.shape[0]
    T = int(n_ticks)
    A4 = np.zeros((n, T, n, T))
    for t in range(T):
        A4[:, t, :, t] = J
    idx = np.arange(n)
    n_bonds = T if (time_periodic and T >= 2) else max(T - 1, 0)
    for t in range(n_bonds):
        u = (t + 1) % T
        A4[idx, t, idx, u] += K
        A4[idx, u, idx, t] += K
    return A4.reshape(n * T, n * T)


def _bilinear_energy(x, J, K, fields, time_periodic):
    """-sum_t x_t.J.x_t/2 - sum_bonds K_i x_it x_iu - sum h_it x_it for x of shape (..., N, T)."""
    e = -0.5 * np.sum(x * np.matmul(J, x), axis=(-2, -1))
    T = x.shape[-1]
    if T > 1:
        if time_periodic:
            nb = x * np.roll(x, -1, axis=-1)  # for T == 2 this is s0 s1 + s1 s0
        else:
            nb = x[..., :-1] * x[..., 1:]
        e -= np.sum(K[:, None] * nb, axis=(-2, -1))
    e -= np.sum(fields * x, axis=(-2, -1))
    return e


def _check_config(x, n, T, name, allowed):
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[-2:] != (n, T):
        raise ParameterError(f"{name} must have shape (..., N, T) = (..., {n}, {T}), got {x.shape}")
    if not np.all(np.isin(x, allowed)):
        raise ParameterError(f"{name} values must be in {allowed}")
    return x.astype(np.float64)


def energy_of(spins, J, K, fields, time_periodic):
    """Energy E[s] of spin configurations (the reference energy function of the project).

    Parameters
    ----------
    spins : numpy.ndarray, int8 (any integer or float dtype accepted), shape (..., N, T)
        Values -1/+1; leading axes are e.g. replicas.
    J : numpy.ndarray, float64, shape (N, N)
        Symmetric, zero diagonal.
    K : numpy.ndarray, float64, shape (N,)
    fields : numpy.ndarray, float64, shape (N, T)
        h_it.
    time_periodic : bool
        Periodic or open time. T == 1: no temporal bond; T == 2 periodic: coupling 2 K_i.

    Returns
    -------
    numpy.ndarray, float64, shape (...)
        Total energy of each configuration (not per site), in units of the couplings.
    """
    J, K, fields, time_periodic, n, T = _validate_model(J, K, fields, time_periodic)
    s = _check_config(spins, n, T, "spins", (-1, 1))
    return _bilinear_energy(s, J, K, fields, time_periodic)


# --------------------------------------------------------------------------- enumeration
def _half_spins(n_bits):
    """All 2**n_bits configurations of n_bits sites: float64 (2**n_bits, n_bits), bit a = site a."""
    k = np.arange(1 << n_bits, dtype=np.int64)
    bits = (k[:, None] >> np.arange(n_bits, dtype=np.int64)) & 1
    return (2 * bits - 1).astype(np.float64)


def _split_enumeration(A, h_flat):
    """Energies of all states as a (2**n_hi, 2**n_lo) matrix E[hi, lo], state k = hi 2**n_lo + lo.

    The sites split into a low half (bits 0..n_lo-1) and a high half; with s = (s_L, s_H),
    E = E_L(s_L) + E_H(s_H) - s_H.A_HL.s_L, so the 2**n energies cost one small matrix product.
    Returns (E, S_L, S_H, n_lo).
    """
    n = h_flat.size
    n_lo = n // 2
    S_L, S_H = _half_spins(n_lo), _half_spins(n - n_lo)
    lo, hi = slice(0, n_lo), slice(n_lo, n)

    def half_energy(S, blk):
        return -0.5 * np.einsum("ka,ka->k", S @ A[blk, blk], S) - S @ h_flat[blk]

    E = half_energy(S_H, hi)[:, None] + half_energy(S_L, lo)[None, :]
    E -= (S_H @ A[hi, lo]) @ S_L.T
    return E, S_L, S_H, n_lo


def _boltzmann(E, beta):
    """Return (log Z, probabilities) with a shifted exponent (no overflow)."""
    e_min = E.min()
    w = np.exp(-beta * (E - e_min))
    z = w.sum()
    return float(np.log(z) - beta * e_min), w / z


def exact_moments(J, K, fields, beta, time_periodic):
    """Exact thermal moments by summing over all 2**(N*T) states (N*T <= 20).

    Parameters
    ----------
    J : numpy.ndarray, float64, shape (N, N)
        Symmetric equal-time couplings with zero diagonal.
    K : numpy.ndarray, float64, shape (N,)
        Temporal couplings K_i.
    fields : numpy.ndarray, float64, shape (N, T)
        Fields h_it.
    beta : float
        Inverse temperature 1/theta >= 0.
    time_periodic : bool
        Periodic or open time. T == 1: no temporal bond; T == 2 periodic: the bond (0, 1) is
        counted twice (coupling 2 K_i).

    Returns
    -------
    dict
        ``log_partition`` (float, log Z); ``energy`` <E> and ``energy_sq`` <E^2> (total, not per
        site); ``specific_heat`` var(E) beta^2 / (N T); with m = (1/(N T)) sum_it s_it the mean
        over all sites: ``magnetization`` <m>, ``abs_magnetization`` <|m|>, ``m2`` <m^2>,
        ``m4`` <m^4>, ``binder`` 1 - <m^4>/(3 <m^2>^2) (NaN if <m^2> underflows to 0);
        ``site_mean`` float64 (N, T) <s_it>;
        ``second_moment`` float64 (N T, N T) <s_a s_b> with a = i*T + t (reshape to
        (N, T, N, T) for [i, t, j, u]; diagonal 1).

    Raises
    ------
    MemoryBudgetError
        If N*T > 20.
    """
    J, K, fields, time_periodic, n, T = _validate_model(J, K, fields, time_periodic)
    beta = _validate_beta(beta)
    n_sites = n * T
    _check_sites(n_sites, MAX_ENUMERATION_SITES)
    A = site_coupling_matrix(J, K, T, time_periodic)
    E, S_L, S_H, n_lo = _split_enumeration(A, fields.reshape(-1))
    log_z, P = _boltzmann(E, beta)
    e_mean = float(np.sum(P * E))
    var_e = float(np.sum(P * (E - e_mean) ** 2))
    p_lo, p_hi = P.sum(axis=0), P.sum(axis=1)
    site_mean = np.concatenate((p_lo @ S_L, p_hi @ S_H))
    second = np.empty((n_sites, n_sites))
    second[:n_lo, :n_lo] = S_L.T @ (S_L * p_lo[:, None])
    second[n_lo:, n_lo:] = S_H.T @ (S_H * p_hi[:, None])
    second[n_lo:, :n_lo] = S_H.T @ P @ S_L
    second[:n_lo, n_lo:] = second[n_lo:, :n_lo].T
    np.fill_diagonal(second, 1.0)
    m = (S_H.sum(axis=1)[:, None] + S_L.sum(axis=1)[None, :]) / n_sites
    m2 = m * m
    mom = [np.sum(P * m), np.sum(P * np.abs(m)), np.sum(P * m2), np.sum(P * m2 * m2)]
    return {
        "log_partition": log_z,
        "energy": e_mean,
        "energy_sq": float(np.sum(P * E * E)),
        "specific_heat": var_e * beta**2 / n_sites,
        "magnetization": float(mom[0]),
        "abs_magnetization": float(mom[1]),
        "m2": float(mom[2]),
        "m4": float(mom[3]),
        "binder": float(1.0 - mom[3] / (3.0 * mom[2] ** 2)) if mom[2] > 0.0 else float("nan"),
        "site_mean": site_mean.reshape(n, T),
        "second_moment": second,
    }


def enumerate_states(n_neurons, n_ticks):
    """All 2**(N*T) spin configurations in enumeration order.

    Parameters
    ----------
    n_neurons, n_ticks : int
        N >= 1, T >= 1 with N*T <= 20.

    Returns
    -------
    numpy.ndarray, int8, shape (2**(N T), N, T)
        ``states[k]`` has s_it = +1 where bit i*T + t of k is set.
    """
    n_sites = int(n_neurons) * int(n_ticks)
    if n_neurons < 1 or n_ticks < 1:
        raise ParameterError(f"need N >= 1 and T >= 1, got N={n_neurons}, T={n_ticks}")
    _check_sites(n_sites, MAX_ENUMERATION_SITES)
    n_lo = n_sites // 2
    S_L = _half_spins(n_lo).astype(np.int8)
    S_H = _half_spins(n_sites - n_lo).astype(np.int8)
    out = np.empty((S_H.shape[0], S_L.shape[0], n_sites), dtype=np.int8)
    out[:, :, :n_lo] = S_L[None, :, :]
    out[:, :, n_lo:] = S_H[:, None, :]
    return out.reshape(-1, int(n_neurons), int(n_ticks))


def exact_distribution(J, K, fields, beta, time_periodic):
    """Every state of the lattice with its exact Boltzmann probability (N*T <= 20).

    Parameters are those of :func:`exact_moments`. Memory is about 2**(N T) * (N T + 16) bytes
    (37 MB at N T = 20).

    Returns
    -------
    states : numpy.ndarray, int8, shape (2**(N T), N, T)
        All configurations, in the order of :func:`enumerate_states`.
    probabilities : numpy.ndarray, float64, shape (2**(N T),)
        exp(-beta E) / Z; sums to 1.
    """
    J, K, fields, time_periodic, n, T = _validate_model(J, K, fields, time_periodic)
    beta = _validate_beta(beta)
    _check_sites(n * T, MAX_ENUMERATION_SITES)
    E = _split_enumeration(site_coupling_matrix(J, K, T, time_periodic), fields.reshape(-1))[0]
    _, P = _boltzmann(E, beta)
    return enumerate_states(n, T), P.reshape(-1)


# --------------------------------------------------------------------------- lattice gas
def lattice_gas_parameters(J, K, fields, time_periodic):
    """Spin model -> lattice gas with psi = (1 + s)/2, such that E_spin(s) = E_gas(psi) + const.

    With s = 2 psi - 1 every bond obeys s_a s_b = 4 psi_a psi_b - 2 psi_a - 2 psi_b + 1, so::

        E_gas[psi] = - sum_t sum_{i<j} W_ij psi_it psi_jt - sum_bonds Kpsi_i psi_it psi_iu
                     - sum_it b_it psi_it
        W = 4 J,   Kpsi = 4 K,
        b_it = 2 h_it - 2 sum_j J_ij - 2 K_i d_t,
        const = - T sum_{i<j} J_ij - n_bonds sum_i K_i + sum_it h_it,

    where d_t is the number of temporal bonds touching tick t (:func:`temporal_degree`: 2 for
    periodic time, 1 at the two ends of open time, 0 for T == 1; for T == 2 periodic the double
    bond gives d_t = 2) and n_bonds the number of temporal bonds per neuron (T periodic, T - 1 open,
    0 for T == 1; 2 for T == 2 periodic). The gas uses the same bond structure (time boundary,
    double bond at T == 2) as the spin model, so P_spin(s) = P_gas(psi) exactly (MODEL.md E7).
    Connected correlations scale as <psi psi>_c = <s s>_c / 4.

    Parameters
    ----------
    J : numpy.ndarray, float64, shape (N, N)
    K : numpy.ndarray, float64, shape (N,)
    fields : numpy.ndarray, float64, shape (N, T)
    time_periodic : bool

    Returns
    -------
    W : numpy.ndarray, float64, shape (N, N)
    Kpsi : numpy.ndarray, float64, shape (N,)
    b : numpy.ndarray, float64, shape (N, T)
        Per-site lattice-gas bias (depends on t through h_it and the open-time ends).
    const : float
        Energy offset E_spin - E_gas, same for every configuration.
    """
    J, K, fields, time_periodic, n, T = _validate_model(J, K, fields, time_periodic)
    deg = temporal_degree(T, time_periodic)
    n_bonds = int(deg.sum()) // 2
    b = 2.0 * fields - 2.0 * J.sum(axis=1)[:, None] - 2.0 * K[:, None] * deg[None, :]
    const = -T * 0.5 * J.sum() - n_bonds * K.sum() + fields.sum()
    return 4.0 * J, 4.0 * K, b, float(const)


def spin_parameters(W, Kpsi, b, time_periodic):
    """Inverse of :func:`lattice_gas_parameters`: lattice gas -> (J, K, fields, const).

    J = W/4, K = Kpsi/4, h_it = (b_it + 2 sum_j J_ij + 2 K_i d_t)/2, and const = E_spin - E_gas
    as in :func:`lattice_gas_parameters`. Shapes as there.
    """
    W, Kpsi, b, time_periodic, n, T = _validate_model(W, Kpsi, b, time_periodic)
    J, K = W / 4.0, Kpsi / 4.0
    deg = temporal_degree(T, time_periodic)
    fields = 0.5 * (b + 2.0 * J.sum(axis=1)[:, None] + 2.0 * K[:, None] * deg[None, :])
    const = lattice_gas_parameters(J, K, fields, time_periodic)[3]
    return J, K, fields, const


def lattice_gas_energy(psi, W, Kpsi, b, time_periodic):
    """Lattice-gas energy E_gas[psi] (see :func:`lattice_gas_parameters`).

    Parameters
    ----------
    psi : numpy.ndarray, int8 (any numeric dtype accepted), shape (..., N, T)
        Occupations 0/1 (1 = spike in the bin).
    W : numpy.ndarray, float64, shape (N, N)
    Kpsi : numpy.ndarray, float64, shape (N,)
    b : numpy.ndarray, float64, shape (N, T)
    time_periodic : bool

    Returns
    -------
    numpy.ndarray, float64, shape (...)
    """
    W, Kpsi, b, time_periodic, n, T = _validate_model(W, Kpsi, b, time_periodic)
    x = _check_config(psi, n, T, "psi", (0, 1))
    return _bilinear_energy(x, W, Kpsi, b, time_periodic)
