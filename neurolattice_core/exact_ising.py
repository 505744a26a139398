"""Closed-form results for the 2-D Ising torus (Kaufman 1949, Onsager 1944), MODEL.md E1, E2.

The neural lattice with a ring of N neurons (coupling J between neurons i and i+-1 mod N),
periodic time of T ticks (coupling K between ticks t and t+-1 mod T) and h = 0 is the anisotropic
2-D Ising model on an N x T torus::

    E[s] = - J sum_{i,t} s_it s_{i+1,t} - K sum_{i,t} s_it s_{i,t+1}       (indices mod N, mod T)

Rows index neurons (n_rows = N), columns index ticks (n_cols = T). With n_rows == 2 (or
n_cols == 2) each pair of rows is joined twice (coupling 2J), as in the project's T == 2 rule.

Kaufman's partition function (B. Kaufman, Phys. Rev. 76, 1232 (1949)), with a transfer matrix
stepping along the rows (m = n_rows steps, each row a ring of n = n_cols spins), k1 = beta J,
k2 = beta K, tanh k1* = exp(-2 k1)::

    Z = (1/2) (2 sinh 2k1)^(m n / 2) [Z1 + Z2 + Z3 + Z4]
    Z1 = prod_{r<n} 2 cosh(m g_{2r+1}/2)    Z2 = prod_{r<n} 2 sinh(m g_{2r+1}/2)
    Z3 = prod_{r<n} 2 cosh(m g_{2r}/2)      Z4 = prod_{r<n} 2 sinh(m g_{2r}/2)
    cosh g_l = cosh 2k1* cosh 2k2 - sinh 2k1* sinh 2k2 cos(pi l / n)     (g_l > 0, l != 0)
    g_0 = 2 k2 - 2 k1*    (signed: negative above the critical line, so Z4 < 0 there)

Everything is evaluated in logarithms (stable for any size) and differentiated analytically in
beta, so the energy and specific heat are exact to rounding (about 1e-13 per site).
"""

import numpy as np
from scipy.special import ellipkm1

from neurolattice_core.errors import ParameterError

_MAX_BETA_COUPLING = 300.0


def _positive_int(x, name, minimum):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(x).__name__}")
    if x < minimum:
        raise ParameterError(f"{name} must be >= {minimum}, got {x}")
    return int(x)


def _real(x, name, positive=False):
    if isinstance(x, (bool, np.bool_)) or not np.isscalar(x):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    x = float(x)
    if not np.isfinite(x) or (positive and x <= 0.0):
        raise ParameterError(f"{name} must be finite{' and > 0' if positive else ''}, got {x}")
    return x


def _log_2sinh(x):
    """log(2 sinh x) for x > 0, accurate for small and large x."""
    return x + np.log(-np.expm1(-2.0 * x))


def _log_2cosh(x):
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2.0 * ax))


def _gammas(m, n, k1, k2, j1, j2):
    """g_l, dg_l/dbeta, d2g_l/dbeta2 for l = 0..2n-1, where k = beta j (k1 > 0, k2 >= 0)."""
    a, b, da, db = 2.0 * k1, 2.0 * k2, 2.0 * j1, 2.0 * j2
    sas, cas = 1.0 / np.sinh(a), 1.0 / np.tanh(a)  # sinh 2k1*, cosh 2k1*
    sb, cb = np.sinh(b), np.cosh(b)
    astar = 2.0 * np.arctanh(np.exp(-2.0 * k1))  # 2 k1* = -log tanh k1, accurate for large k1
    ell = np.arange(1, 2 * n)
    q = np.cos(np.pi * ell / n)
    # c_l - 1 written as a sum of non-negative terms (no cancellation near criticality)
    d = 2.0 * np.sinh(0.5 * (astar - b)) ** 2 + 2.0 * sas * sb * np.sin(0.5 * np.pi * ell / n) ** 2
    c = 1.0 + d
    sg = np.sqrt(d) * np.sqrt(d + 2.0)  # sinh g_l
    g = np.log1p(d + sg)
    c_a = q * sb * cas * sas - cb * sas**2
    c_b = cas * sb - q * cb * sas
    c_aa = q * sb * sas - 2.0 * cas * c_a
    c_ab = q * cb * cas * sas - sb * sas**2
    dc = da * c_a + db * c_b
    d2c = da * da * c_aa + 2.0 * da * db * c_ab + db * db * c
    dg = dc / sg
    d2g = (d2c - c * dg * dg) / sg
    g0, dg0, d2g0 = b - astar, db + da * sas, -da * da * cas * sas
    return (np.concatenate(([g0], g)), np.concatenate(([dg0], dg)),
            np.concatenate(([d2g0], d2g)))


def _product_term(x, dx, d2x, hyperbolic):
    """Log scale, value and beta-derivatives of prod_r 2f(x_r), f = cosh or sinh.

    The first factor may have any sign (it carries g_0); the others have x_r > 0. Returns
    (scale, mu, A, B, C) where prod = e^scale A and, for the shifted product
    e^(-mu beta) prod (mu = d log(rest)/d beta, the log-derivative of the factors r >= 1),
    e^scale B and e^scale C are its first and second beta-derivatives. Shifting by mu removes
    the large common part of the log-derivatives before they are squared.
    """
    x0, xr, dxr, d2xr = x[0], x[1:], dx[1:], d2x[1:]
    if hyperbolic == "cosh":
        log_r = np.sum(_log_2cosh(xr))
        ratio = np.tanh(xr)
        e2 = np.exp(-2.0 * xr)
        curv = 4.0 * e2 / (1.0 + e2) ** 2  # 1 - tanh^2 = sech^2, no overflow
    else:
        log_r = np.sum(_log_2sinh(xr))
        ratio = 1.0 / np.tanh(xr)
        e2 = np.exp(-2.0 * xr)
        curv = -4.0 * e2 / np.expm1(-2.0 * xr) ** 2  # 1 - coth^2 = -csch^2
    mu = np.sum(ratio * dxr)
    lr2 = np.sum(curv * dxr**2 + ratio * d2xr)
    ax = abs(x0)
    c0 = 1.0 + np.exp(-2.0 * ax)
    s0 = np.sign(x0) * -np.expm1(-2.0 * ax)
    f0, f1 = (c0, s0) if hyperbolic == "cosh" else (s0, c0)
    B = f1 * dx[0]
    C = f0 * dx[0] ** 2 + f1 * d2x[0] + f0 * lr2
    return ax + log_r, mu, f0, B, C


def _ring_terms(m, k, j):
    """(log Z, d, d2) of one ring of m spins with coupling k = beta j > 0 (m == 2: doubled bond).

    Z = (2 cosh k)^m + (2 sinh k)^m, differentiated in beta.
    """
    t = np.tanh(k)
    tm = t**m
    sech2 = 1.0 / np.cosh(k) ** 2
    log_z = m * _log_2cosh(k) + np.log1p(tm)
    # mixture of A = (2 cosh k)^m and B = (2 sinh k)^m with weights 1/(1+t^m), t^m/(1+t^m):
    # d1 = <dlog>, d2 = <d2log> + variance of dlog between the two, written without cancellation
    r = t ** (m - 2) / (1.0 + tm)
    d1 = m * j * t + m * j * sech2 * t * r
    d2 = (m * j * j * sech2 / (1.0 + tm) - m * j * j * sech2 * r
          + (m * j * sech2) ** 2 * r / (1.0 + tm))
    return log_z, d1, d2


def _kaufman(m, n, k1, k2, j1, j2):
    """(log Z, d log Z/d beta, d2 log Z/d beta2) with k = beta j >= 0 along each axis.

    k1 couples neighbouring rows (m of them), k2 neighbouring columns (n of them).
    """
    if k1 == 0.0 and k2 == 0.0:
        return m * n * np.log(2.0), 0.0, 0.0
    if k1 == 0.0:  # transfer along the other axis
        m, n, k1, k2, j1, j2 = n, m, k2, k1, j2, j1
    if k2 == 0.0:  # n independent rings of m spins
        lz, d1, d2 = _ring_terms(m, k1, j1)
        return float(n * lz), float(n * d1), float(n * d2)
    g, dg, d2g = _gammas(m, n, k1, k2, j1, j2)
    x, dx, d2x = 0.5 * m * g, 0.5 * m * dg, 0.5 * m * d2g
    odd, even = slice(1, None, 2), slice(0, None, 2)
    terms = [
        _product_term(x[odd], dx[odd], d2x[odd], "cosh"),
        _product_term(x[odd], dx[odd], d2x[odd], "sinh"),
        _product_term(x[even], dx[even], d2x[even], "cosh"),
        _product_term(x[even], dx[even], d2x[even], "sinh"),
    ]
    scales = np.array([t[0] for t in terms])
    top = scales.max()
    w = np.exp(scales - top)
    ref = terms[0][1] + np.tanh(x[1]) * dx[1]  # d log Z1 / d beta: Z1 > 0 always
    s = d1 = d2 = 0.0
    for wi, (_, mu, A, B, C) in zip(w, terms, strict=True):
        shift = mu - ref  # re-centre every term on the same reference log-derivative
        s += wi * A
        d1 += wi * (B + A * shift)
        d2 += wi * (C + 2.0 * B * shift + A * shift * shift)
    d1 /= s
    d2 = d2 / s - d1 * d1
    a, da = 2.0 * k1, 2.0 * j1
    half_sites = 0.5 * m * n
    log_z = -np.log(2.0) + half_sites * _log_2sinh(a) + top + np.log(s)
    dlog = half_sites * da / np.tanh(a) + ref + d1
    d2log = -half_sites * (da / np.sinh(a)) ** 2 + d2
    return float(log_z), float(dlog), float(d2log)


def _gauge(n_rows, n_cols, k_rows, k_cols):
    """Map negative couplings to positive ones by flipping every other row/column."""
    for k, size, axis in ((k_rows, n_rows, "rows"), (k_cols, n_cols, "columns")):
        if k < 0.0 and size % 2 == 1:
            raise ParameterError(
                f"a negative (antiferromagnetic) coupling along the {axis} needs an even number of "
                f"{axis} (got {size}): the odd torus is frustrated and Kaufman's formula does not "
                "apply; use exact enumeration instead"
            )
        if abs(k) > _MAX_BETA_COUPLING:
            raise ParameterError(
                f"|beta * coupling| along the {axis} must be <= {_MAX_BETA_COUPLING}, got {k}"
            )


def kaufman_log_partition(n_rows, n_cols, beta_j_rows, beta_j_cols):
    """Exact log Z of the finite anisotropic Ising torus with n_rows x n_cols sites.

    Parameters
    ----------
    n_rows : int
        Number of rows >= 2 (neurons on a ring); row i is bonded to rows i +- 1 mod n_rows.
    n_cols : int
        Number of columns >= 2 (ticks, periodic time); column t is bonded to t +- 1 mod n_cols.
    beta_j_rows : float
        beta J: dimensionless coupling of the bonds between neighbouring rows (neuron-neuron).
    beta_j_cols : float
        beta K: dimensionless coupling of the bonds between neighbouring columns (tick-tick).

    Returns
    -------
    float
        log Z with Z = sum_s exp(beta J sum s_it s_{i+1,t} + beta K sum s_it s_{i,t+1}).
        Negative couplings are allowed along an axis of even length (gauge transformation).

    Raises
    ------
    ParameterError
        For a negative coupling along an axis of odd length (frustrated torus), or
        |beta J| or |beta K| > 300 (ground state; overflow).
    """
    m = _positive_int(n_rows, "n_rows", 2)
    n = _positive_int(n_cols, "n_cols", 2)
    k1 = _real(beta_j_rows, "beta_j_rows")
    k2 = _real(beta_j_cols, "beta_j_cols")
    _gauge(m, n, k1, k2)
    return _kaufman(m, n, abs(k1), abs(k2), abs(k1), abs(k2))[0]


def _kaufman_thermo(n_rows, n_cols, J, K, theta):
    m = _positive_int(n_rows, "n_rows", 2)
    n = _positive_int(n_cols, "n_cols", 2)
    J, K = _real(J, "J"), _real(K, "K")
    theta = _real(theta, "theta", positive=True)
    _gauge(m, n, J / theta, K / theta)
    return m * n, theta, _kaufman(m, n, abs(J) / theta, abs(K) / theta, abs(J), abs(K))


def kaufman_energy_per_site(n_rows, n_cols, J, K, theta):
    """Exact <E> / (n_rows n_cols) of the Ising torus (see :func:`kaufman_log_partition`).

    Parameters
    ----------
    n_rows, n_cols : int
        Torus size (rows = neurons on a ring with coupling J, columns = periodic ticks with K).
    J, K : float
        Couplings between neighbouring rows and between neighbouring columns.
    theta : float
        Temperature > 0.

    Returns
    -------
    float
        -(d log Z / d beta) / sites, from the analytic derivative (error about 1e-13).
    """
    sites, _, (_, d1, _) = _kaufman_thermo(n_rows, n_cols, J, K, theta)
    return -d1 / sites


def kaufman_specific_heat_per_site(n_rows, n_cols, J, K, theta):
    """Exact specific heat var(E) / (sites theta^2) of the Ising torus.

    Parameters and conventions as in :func:`kaufman_energy_per_site`.

    Returns
    -------
    float
        beta^2 (d^2 log Z / d beta^2) / sites.
    """
    sites, theta, (_, _, d2) = _kaufman_thermo(n_rows, n_cols, J, K, theta)
    return d2 / (sites * theta**2)


def onsager_critical_temperature(J=1.0):
    """Critical temperature of the isotropic square lattice, theta_c = 2 J / ln(1 + sqrt 2)."""
    J = _real(J, "J", positive=True)
    return 2.0 * J / np.log1p(np.sqrt(2.0))


def anisotropic_critical_temperature(J, K):
    """Critical temperature of the anisotropic square lattice: sinh(2J/theta) sinh(2K/theta) = 1.

    Parameters
    ----------
    J, K : float
        Couplings > 0 along the two axes.

    Returns
    -------
    float
        theta_c (equals :func:`onsager_critical_temperature` for J == K).
    """
    from scipy.optimize import brentq

    J, K = _real(J, "J", positive=True), _real(K, "K", positive=True)

    def f(beta):
        return np.log(np.sinh(2 * J * beta)) + np.log(np.sinh(2 * K * beta))

    lo, hi = 1e-12, 1.0
    while f(hi) < 0.0:
        hi *= 2.0
    beta_c = brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    return 1.0 / beta_c


def spontaneous_magnetization(theta, J=1.0, K=None):
    """Onsager-Yang spontaneous magnetisation of the infinite square lattice.

    m0 = (1 - [sinh(2J/theta) sinh(2K/theta)]^-2)^(1/8) below the critical line, 0 above.
    For K = J (the default) this is (1 - sinh(2J/theta)^-4)^(1/8).
    """
    theta = _real(theta, "theta", positive=True)
    J = _real(J, "J", positive=True)
    K = J if K is None else _real(K, "K", positive=True)
    p = np.sinh(2.0 * J / theta) * np.sinh(2.0 * K / theta)
    return float((1.0 - p**-2) ** 0.125) if p > 1.0 else 0.0


def onsager_energy_per_site(theta, J=1.0):
    """Energy per site of the infinite isotropic square lattice (Onsager 1944).

    u = -J coth(2 beta J) [1 + (2/pi) (2 tanh^2(2 beta J) - 1) K_1(k)],
    k = 2 sinh(2 beta J) / cosh^2(2 beta J), K_1 the complete elliptic integral of the first kind.
    At theta_c, u = -sqrt(2) J.
    """
    theta = _real(theta, "theta", positive=True)
    J = _real(J, "J", positive=True)
    x = 2.0 * J / theta
    one_minus_k2 = ((np.sinh(x) ** 2 - 1.0) / np.cosh(x) ** 2) ** 2
    coth = 1.0 / np.tanh(x)
    if one_minus_k2 == 0.0:
        return float(-J * coth)
    return float(-J * coth * (1.0 + (2.0 / np.pi) * (2.0 * np.tanh(x) ** 2 - 1.0)
                              * ellipkm1(one_minus_k2)))


# --------------------------------------------------------------------------- 1-D chains (E3)
def _tau(K, theta):
    K = _real(K, "K")
    theta = _real(theta, "theta", positive=True)
    return float(np.tanh(K / theta))


def _lags(r, upper, name):
    r = np.asarray(r)
    if not np.issubdtype(r.dtype, np.integer):
        raise TypeError(f"{name} must be an integer or an integer array, got dtype {r.dtype}")
    if np.any(r < 0) or (upper is not None and np.any(r > upper)):
        bound = "" if upper is None else f" and <= {upper}"
        raise ParameterError(f"{name} must be >= 0{bound}")
    return r


def open_chain_correlation(K, theta, r):
    """<s_t s_t+r> = tanh(K/theta)^r of an open (or infinite) chain with h = 0, any length.

    Parameters
    ----------
    K : float
        Temporal coupling.
    theta : float
        Temperature > 0.
    r : int or numpy.ndarray of int
        Lag(s) >= 0 (both ticks inside the chain).

    Returns
    -------
    float or numpy.ndarray, float64, same shape as r
    """
    tau = _tau(K, theta)
    return np.float64(tau) ** _lags(r, None, "r")


def periodic_chain_correlation(K, theta, T, r):
    """<s_t s_t+r> = (tau^r + tau^(T-r)) / (1 + tau^T) of a periodic chain of T ticks, h = 0.

    tau = tanh(K/theta). For T == 2 this gives tanh(2K/theta) at r = 1, i.e. the doubled bond of
    the project's T == 2 periodic convention. Parameters as in :func:`open_chain_correlation`
    plus T >= 2 (int) and 0 <= r <= T.
    """
    tau = np.float64(_tau(K, theta))
    T = _positive_int(T, "T", 2)
    r = _lags(r, T, "r")
    return (tau**r + tau ** (T - r)) / (1.0 + tau**T)


def chain_magnetization_in_field(K, h, theta):
    """Magnetisation of the infinite chain in a uniform field.

    m = sinh(h/theta) / sqrt(sinh(h/theta)^2 + exp(-4K/theta)).
    """
    K, h = _real(K, "K"), _real(h, "h")
    theta = _real(theta, "theta", positive=True)
    x = h / theta
    return float(np.sinh(x) / np.sqrt(np.sinh(x) ** 2 + np.exp(-4.0 * K / theta)))


def periodic_chain_magnetization(K, h, theta, T):
    """Exact magnetisation of a periodic chain of T ticks in a uniform field (transfer matrix).

    With lambda_+- = e^(K/theta) [cosh x +- R], x = h/theta, R = sqrt(sinh^2 x + e^(-4K/theta)),
    Z = lambda_+^T + lambda_-^T and m = (sinh x / R) (1 - rho^T) / (1 + rho^T), with
    rho = lambda_- / lambda_+.
    T == 1 has no bond (m = tanh x); T == 2 has the doubled bond (coupling 2K).
    """
    K, h = _real(K, "K"), _real(h, "h")
    theta = _real(theta, "theta", positive=True)
    T = _positive_int(T, "T", 1)
    x = h / theta
    if T == 1:
        return float(np.tanh(x))
    R = np.sqrt(np.sinh(x) ** 2 + np.exp(-4.0 * K / theta))
    if R == 0.0:
        return 0.0
    ch = np.cosh(x)
    # lambda_- / lambda_+ = (cosh x - R) / (cosh x + R) = (1 - exp(-4K/theta)) / (cosh x + R)^2
    rho = -np.expm1(-4.0 * K / theta) / (ch + R) ** 2
    rt = rho**T
    return float(np.sinh(x) / R * (1.0 - rt) / (1.0 + rt))


# --------------------------------------------------------------------------- Curie-Weiss (E4, E5)
def curie_weiss_moments(n, J, h, theta):
    """Exact moments of the finite all-to-all model (K = 0, one tick) by summing over M.

    E = -(J/n) sum_{i<j} s_i s_j - h sum_i s_i = -(J/n) (M^2 - n)/2 - h M, M = n - 2k with
    binomial degeneracy C(n, k). Cost O(n): n up to millions.

    Parameters
    ----------
    n : int
        Number of neurons >= 1.
    J, h : float
        Coupling (per pair J/n) and uniform field.
    theta : float
        Temperature > 0.

    Returns
    -------
    dict
        ``log_partition``, ``energy`` (<E>, total), ``specific_heat`` (var E / (n theta^2)),
        and for m = M/n: ``magnetization`` <m>, ``abs_magnetization`` <|m|>, ``m2``, ``m4``,
        ``binder`` 1 - <m^4>/(3 <m^2>^2).
    """
    from scipy.special import gammaln

    n = _positive_int(n, "n", 1)
    J, h = _real(J, "J"), _real(h, "h")
    theta = _real(theta, "theta", positive=True)
    k = np.arange(n + 1, dtype=np.float64)
    M = n - 2.0 * k
    E = -(J / n) * (M * M - n) / 2.0 - h * M
    logw = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0) - E / theta
    top = logw.max()
    w = np.exp(logw - top)
    z = w.sum()
    p = w / z
    m = M / n
    e_mean = p @ E
    m2, m4 = p @ m**2, p @ m**4
    return {
        "log_partition": float(top + np.log(z)),
        "energy": float(e_mean),
        "specific_heat": float(p @ (E - e_mean) ** 2 / (n * theta**2)),
        "magnetization": float(p @ m),
        "abs_magnetization": float(p @ np.abs(m)),
        "m2": float(m2),
        "m4": float(m4),
        "binder": float(1.0 - m4 / (3.0 * m2**2)) if m2 > 0.0 else float("nan"),
    }


def curie_weiss_limit_n_m2(J, theta):
    """Infinite-n limit of n <m^2> = 1 / (1 - J/theta) in the paramagnet theta > J (h = 0)."""
    J = _real(J, "J")
    theta = _real(theta, "theta", positive=True)
    if J >= theta:
        raise ParameterError(f"n <m^2> has a finite limit only for theta > J (got J={J}, "
                             f"theta={theta}); below theta_c = J it grows like n")
    return 1.0 / (1.0 - J / theta)


def curie_weiss_mean_field_magnetization(J, h, theta):
    """Stable solution of m = tanh((J m + h)/theta) (the n -> infinity magnetisation).

    For h == 0 and theta < J the positive branch is returned. Error below 1e-14.
    """
    from scipy.optimize import brentq

    J, h = _real(J, "J"), _real(h, "h")
    theta = _real(theta, "theta", positive=True)
    sign = -1.0 if h < 0 else 1.0
    h = abs(h)

    def f(m):
        return m - np.tanh((J * m + h) / theta)

    if h == 0.0 and J <= theta:
        return 0.0
    lo = 1e-300 if h == 0.0 else 0.0  # skip the unstable m = 0 root when h == 0
    if f(1.0) == 0.0:
        return sign
    return sign * brentq(f, lo, 1.0, xtol=1e-16, rtol=4 * np.finfo(float).eps, maxiter=500)


def chi_T(K, theta, T):
    """Susceptibility of a periodic chain, sum_r <s_0 s_r> = (1+tau)(1-tau^T)/((1-tau)(1+tau^T)).

    tau = tanh(K/theta); T -> infinity gives exp(2K/theta). T == 1 gives 1 (no bond); T == 2
    counts the doubled bond (1 + tanh(2K/theta)).
    """
    tau = _tau(K, theta)
    T = _positive_int(T, "T", 1)
    if T == 1:
        return 1.0
    if tau == 1.0:  # K/theta beyond ~19: the chain is frozen
        return float(T)
    if 1.0 + tau**T == 0.0:
        raise ParameterError("chi_T is undefined for tanh(K/theta) == -1 with odd T (frustrated)")
    if tau > 0.0:
        lt = np.log(tau)
        geometric = np.expm1(T * lt) / np.expm1(lt)  # (1 - tau^T)/(1 - tau), fine as tau -> 1
    else:
        geometric = (1.0 - tau**T) / (1.0 - tau)
    return float((1.0 + tau) * geometric / (1.0 + tau**T))


def critical_coupling_all_to_all_temporal(K, theta, T):
    """Mean-field (n -> infinity) critical J of the all-to-all model with temporal coupling K.

    Solves (J/theta) chi_T(K, theta, T) = 1 (MODEL.md E5, periodic time, h = 0): J_c = theta/chi_T.
    """
    theta_v = _real(theta, "theta", positive=True)
    return theta_v / chi_T(K, theta, T)
