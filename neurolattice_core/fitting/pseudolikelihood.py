"""Pseudo-likelihood fits of the maxent, lft and kinetic models (MODEL.md section 5).

For every neuron i the conditional law of its spin given everything else is a logistic law,
P(s_it | rest) = exp(s_it H_it) / (2 cosh H_it), with the local field

- maxent:  H_it = h_i (+ u_t) + sum_{j != i} J_ij s_jt
- lft:     H_it = h_i (+ u_t) + sum_{j != i} J_ij s_jt + K_i (s_i,t-1 + s_i,t+1)
           (per trial; the first and last tick have one temporal neighbour)
- kinetic: H_i,t+1 = h_i + sum_j J_ij s_jt    (P(s_t+1 | s_t) exactly; J asymmetric, J_ii kept)

The pseudo-log-likelihood sum_{r,t,i} [s_it H_it - log 2 cosh H_it] splits into one concave
problem per neuron, solved by :mod:`.newton` in parallel over neurons. For maxent and lft the
two estimates J_ij (from neuron i) and J_ji (from neuron j) are averaged, J = (J_row + J_row^T)/2,
weighted by their precisions (inverse variances from each neuron's Hessian), and then each h_i
is refitted with the symmetric J fixed (one-dimensional Newton). Standard errors ``J_se``,
``K_se`` are clustered sandwich (Godambe) errors (:mod:`.sandwich`): the inverse Hessian of a
pseudo-likelihood ignores the correlation of the conditional terms of neighbouring ticks (lft)
and of the two estimates behind a symmetrised J_ij, and is too small (about 1.4x for K on
lft data); the Hessian value of K is kept as ``K_se_hessian`` for comparison.
:func:`.uncertainty.jackknife` (refits leaving out groups of trials) is the slower check.

Regularisation rule (L2, a Gaussian prior): the total objective of neuron i is

    sum_samples [s H - log 2 cosh H] - (lam M / 2) (sum_j J_ij^2 + K_i^2)

with M the number of training samples (trial x tick) and a per-sample strength lam. The default
is lam = 1 / M, i.e. an independent N(0, 1) prior on every coupling whatever the amount of
data: the penalty vanishes relative to the data as M grows (consistent estimates), and keeps
couplings finite for never co-active or near-duplicate units. Fields h_i are not penalised; a
fitted drive u_t gets the same prior.
"""

import time

import numpy as np

from ..errors import FitError
from . import newton
from .data import build_rows, temporal_neighbour_sum
from .drive import solve_with_drive
from .sandwich import influences, standard_errors

__all__ = ["fit_pseudolikelihood", "default_regularization", "pseudo_loglik"]

MODELS = ("maxent", "lft", "kinetic")


def default_regularization(n_samples, scale=1.0):
    """Default per-sample L2 strength: ``scale / n_samples`` (a N(0, 1/scale) coupling prior)."""
    return float(scale) / max(int(n_samples), 1)


def _spin_to_theta(h, J, K, flip, exclude_self):
    """Spin parameters -> the kernel's flipped 0/1 parameterisation (see :mod:`.newton`)."""
    n = h.size
    Jr = J.copy()
    if exclude_self:
        np.fill_diagonal(Jr, 0.0)
    theta = np.zeros((n, n + 2))
    theta[:, 1:n + 1] = 2.0 * Jr * flip[None, :]
    theta[:, 0] = h - (Jr * flip[None, :]).sum(axis=1)
    theta[:, n + 1] = K
    return theta


def _theta_to_spin(theta, flip):
    n = theta.shape[0]
    beta = theta[:, 1:n + 1]
    J = 0.5 * beta * flip[None, :]
    h = theta[:, 0] + 0.5 * beta.sum(axis=1)
    return h, J, theta[:, n + 1].copy()


def _self_init(data, model, lam_total, n_steps=60):
    """Start values (h, self coupling) from each neuron alone: J_ij = 0 for j != i.

    lft: the logistic law of s_it given n_it (a 1-D chain per neuron), giving (h_i, K_i);
    kinetic: s_i,t+1 given s_it, giving (h_i, J_ii); maxent: h_i = atanh(<s_i>). Each is a
    two-parameter concave problem on a table of counts, solved by vectorised Newton.
    """
    s = data.spins
    if model == "maxent":
        m = s.mean(axis=(0, 2), dtype=np.float64)
        return np.arctanh(np.clip(m, -1 + 1e-6, 1 - 1e-6)), np.zeros(s.shape[1])
    if model == "lft":
        x, y = temporal_neighbour_sum(s), s
    else:
        x, y = s[:, :, :-1], s[:, :, 1:]
    values = np.arange(-2, 3)
    # table[i, v, k]: number of samples of neuron i with covariate values[v] and response k
    table = np.stack([np.stack([((x == v) & (y == sgn)).sum(axis=(0, 2)) for sgn in (-1, 1)],
                               axis=1) for v in values], axis=1).astype(np.float64)
    tot = table.sum(axis=2)                             # (N, 5)
    net = table[:, :, 1] - table[:, :, 0]               # sum of y per covariate value
    b = np.arctanh(np.clip(net.sum(axis=1) / tot.sum(axis=1), -1 + 1e-6, 1 - 1e-6))
    k = np.zeros_like(b)
    for _ in range(n_steps):
        t = np.tanh(b[:, None] + k[:, None] * values[None, :])
        r = net - tot * t
        w = tot * (1.0 - t * t)
        g = np.stack([r.sum(axis=1), (r * values).sum(axis=1) - lam_total * k], axis=1)
        a00, a01 = w.sum(axis=1), (w * values).sum(axis=1)
        a11 = (w * values**2).sum(axis=1) + lam_total
        det = np.maximum(a00 * a11 - a01 * a01, 1e-300)
        db = np.clip((a11 * g[:, 0] - a01 * g[:, 1]) / det, -1.0, 1.0)
        dk = np.clip((a00 * g[:, 1] - a01 * g[:, 0]) / det, -1.0, 1.0)
        b += db
        k += dk
        if max(np.max(np.abs(db)), np.max(np.abs(dk))) < 1e-10:
            break
    return b, k


def _block_size(n, threads=None):
    """Neurons per Newton block: at most 8, and at least two blocks per Numba thread."""
    import numba

    threads = threads or numba.get_num_threads()
    return int(max(1, min(8, -(-n // (2 * threads)))))


def _solve(rows, theta, offsets, exclude_self, use_k, lam_b, lam_k, max_iter, tol,
           tol_step=1e-3):
    n = theta.shape[0]
    iters = np.zeros(n, dtype=np.int64)
    conv = np.zeros(n, dtype=np.bool_)
    obj = np.zeros(n)
    var = np.zeros_like(theta)
    newton._newton_neurons(rows.act_ptr, rows.act_idx, rows.response, rows.neighbours,
                           rows.counts, offsets, exclude_self, use_k, lam_b, lam_k, theta,
                           int(max_iter), float(tol), float(tol_step), iters, conv, obj, var,
                           _block_size(n))
    return iters, conv, var


def _symmetrise(J_rows, var_rows):
    """Precision-weighted average of J_ij (row i's fit) and J_ji (row j's fit).

    J_ij = (J_ij / v_ij + J_ji / v_ji) / (1 / v_ij + 1 / v_ji), with v the Hessian variances
    of each neuron's estimate; returns (J, the weight of row i's estimate), zero diagonal.
    """
    v = np.maximum(var_rows, 1e-300)
    w, wt = 1.0 / v, 1.0 / v.T
    weight = w / (w + wt)
    J = J_rows * weight + J_rows.T * (1.0 - weight)
    np.fill_diagonal(J, 0.0)
    return 0.5 * (J + J.T), weight


def _refit_fields(rows, theta, offsets, use_k, n_steps=20):
    """Newton on each bias b_0 alone (symmetrised couplings fixed), in place."""
    newton._refit_biases(rows.act_ptr, rows.act_idx, rows.response, rows.neighbours,
                         rows.counts, offsets, theta, use_k, n_steps)


def fit_pseudolikelihood(data, model="lft", *, regularization=None, drive=False, init=None,
                         max_iter=50, tol=1e-8, merge=True):
    """Maximum pseudo-likelihood fit of ``model`` to ``data``.

    Parameters
    ----------
    data : FitData
        Training data (trials x units x ticks).
    model : {"maxent", "lft", "kinetic"}
    regularization : float, optional
        Per-sample L2 strength lam on J, K (and u); default :func:`default_regularization`.
    drive : bool
        Also fit a common time-locked drive u_t (maxent, lft; needs aligned trials).
    init : dict, optional
        Starting point with ``h`` (N,), ``J`` (N, N) and optionally ``K`` (N,), e.g. a
        mean-field fit; default the independent model.
    max_iter : int
        Newton iterations per neuron (joint iterations with a drive, see :mod:`.drive`).
    tol : float
        Stop when the Newton decrement (squared step in standard-error units) is below ``tol``
        (or below 1e-3 right after a full step; see :mod:`.newton`).
    merge : bool
        Merge repeated rows (patterns) before fitting.

    Returns
    -------
    dict
        ``h`` (N,), ``J`` (N, N) (symmetric, zero diagonal for maxent/lft; asymmetric with
        diagonal for kinetic), ``K`` (N,) or None, ``u`` (T,) or None, ``J_se`` (N, N) and
        ``K_se`` (N,) or None (clustered sandwich standard errors, :mod:`.sandwich`),
        ``K_se_hessian`` (N,) or None (the inverse-Hessian value, too small), ``regularization``
        (dict: rule, lam), ``diagnostics`` (dict: converged, iterations, seconds, n_rows,
        asymmetry, warnings).
    """
    if model not in MODELS:
        raise FitError(f"model must be one of {MODELS}, got {model!r}")
    if drive and model == "kinetic":
        raise FitError("a time-locked drive u_t is available for maxent and lft, not kinetic")
    if drive and not data.aligned:
        raise FitError("a drive u_t needs trials aligned on one clock (aligned=True)")
    start = time.perf_counter()
    rows = build_rows(data, model, drive=drive, merge=merge)
    n = data.n_units
    lam = default_regularization(rows.n_samples) if regularization is None \
        else float(regularization)
    if not np.isfinite(lam) or lam < 0:
        raise FitError(f"regularization must be a finite number >= 0, got {regularization}")
    lam_total = lam * rows.n_samples
    exclude_self = model != "kinetic"
    use_k = model == "lft"
    if init is None:
        h0, self_coupling = _self_init(data, model, lam_total)
        J0, K0 = np.zeros((n, n)), np.zeros(n)
        if model == "lft":
            K0 = self_coupling
        elif model == "kinetic":
            J0[np.diag_indices(n)] = self_coupling
    else:
        h0 = np.asarray(init["h"], dtype=np.float64)
        J0 = np.asarray(init["J"], dtype=np.float64)
        K0 = np.zeros(n) if init.get("K") is None else np.asarray(init["K"], dtype=np.float64)
        if h0.shape != (n,) or J0.shape != (n, n) or K0.shape != (n,):
            raise FitError(f"init must hold h ({n},), J ({n}, {n}) and K ({n},) for {n} units; "
                           f"got {h0.shape}, {J0.shape}, {K0.shape}")
        if not (np.all(np.isfinite(h0)) and np.all(np.isfinite(J0))
                and np.all(np.isfinite(K0))):
            raise FitError("init holds NaN or infinite values")
    theta = _spin_to_theta(h0, J0, K0 if use_k else np.zeros(n), rows.flip.astype(np.float64),
                           exclude_self)
    lam_b, lam_k = lam_total / 4.0, lam_total
    warnings = []
    if drive:
        u = np.zeros(data.n_ticks)
        iters, ok, var = solve_with_drive(rows, theta, u, exclude_self, use_k, lam_b, lam_k,
                                          lam_total, max_iter=max_iter, tol=tol)
        total_iters = np.full(n, iters)
        conv = np.full(n, ok)
        offsets = u[rows.tick]
    else:
        u = None
        offsets = np.zeros(rows.n_rows)
        total_iters, conv, var = _solve(rows, theta, offsets, exclude_self, use_k, lam_b,
                                        lam_k, max_iter, tol)
    flip = rows.flip.astype(np.float64)
    h, J_rows, K = _theta_to_spin(theta, flip)
    var_rows = var[:, 1:n + 1] / 4.0                # var(J_ia) = var(b_a) / 4
    qJ, qK = influences(data, model, theta, flip, u, lam_b, lam_k, _block_size(n))
    K_se = standard_errors(qK) if use_k else None
    asym = 0.0
    if exclude_self:
        np.fill_diagonal(J_rows, 0.0)
        J, weight = _symmetrise(J_rows, var_rows)
        J_se = standard_errors(qJ * weight[None] + qJ.transpose(0, 2, 1) * (1.0 - weight)[None])
        np.fill_diagonal(J_se, 0.0)
        norm = np.linalg.norm(J)
        asym = float(np.linalg.norm(J_rows - J_rows.T) / (2 * norm)) if norm > 0 else 0.0
        theta = _spin_to_theta(h, J, K, flip, True)
        _refit_fields(rows, theta, offsets, use_k)
        h = _theta_to_spin(theta, flip)[0]
    else:
        J, J_se = J_rows, standard_errors(qJ)
    if u is not None:
        shift = float(u.mean())
        u = u - shift
        h = h + shift
    bad = np.flatnonzero(~conv)
    if bad.size:
        warnings.append(f"pseudo-likelihood Newton did not converge for units {bad.tolist()} "
                        f"within {max_iter} iterations")
    for name, arr in (("h", h), ("J", J), ("K", K), ("u", u)):
        if arr is not None and not np.all(np.isfinite(arr)):
            raise FitError(f"the pseudo-likelihood fit produced non-finite {name}; the data "
                           "are probably degenerate (silent or duplicate units): drop them or "
                           "raise the regularization")
    return {
        "h": h, "J": J, "K": K if use_k else None, "u": u, "J_se": J_se, "K_se": K_se,
        "K_se_hessian": np.sqrt(var[:, n + 1]) if use_k else None,
        "regularization": {"rule": "lam = 1 / n_samples (an N(0, 1) prior on every J_ij, K_i, "
                                   "u_t)" if regularization is None else "user value",
                           "lam": lam, "lam_total": lam_total},
        "diagnostics": {"converged": bool(conv.all()), "iterations": int(total_iters.max()),
                        "seconds": time.perf_counter() - start,
                        "n_rows": int(rows.n_rows), "asymmetry": asym, "warnings": warnings},
    }


def pseudo_loglik(data, model, h, J, K=None, u=None):
    """Mean pseudo-log-likelihood per neuron and sample, in nats.

    ``mean_{r,t,i} log P(s_it | rest)`` under the model's conditional law (module docstring);
    for kinetic the average runs over transitions and equals the exact log-likelihood of
    P(s_t+1 | s_t) per neuron. An independent model is ``J = 0`` (and ``K = None``).

    Parameters
    ----------
    data : FitData
    model : {"maxent", "lft", "kinetic"}
    h : numpy.ndarray, float64, shape (N,)
    J : numpy.ndarray, float64, shape (N, N)
    K : numpy.ndarray, float64, shape (N,), optional (lft)
    u : numpy.ndarray, float64, shape (T,), optional (drive)

    Returns
    -------
    total : float
        Mean over neurons and samples.
    per_unit : numpy.ndarray, float64, shape (N,)
        Mean over samples for each neuron.
    """
    s = data.spins.astype(np.float64)
    h = np.asarray(h, dtype=np.float64)
    J = np.asarray(J, dtype=np.float64)
    if model == "kinetic":
        H = h[None, :, None] + np.einsum("ij,rjt->rit", J, s[:, :, :-1])
        y = s[:, :, 1:]
    else:
        Jz = J - np.diag(np.diag(J))
        H = h[None, :, None] + np.einsum("ij,rjt->rit", Jz, s)
        if u is not None:
            H = H + np.asarray(u, dtype=np.float64)[None, None, : s.shape[2]]
        if model == "lft" and K is not None:
            H = H + np.asarray(K)[None, :, None] * temporal_neighbour_sum(data.spins)
        y = s
    a = np.abs(H)
    ll = y * H - (a + np.log1p(np.exp(-2.0 * a)))
    per_unit = ll.mean(axis=(0, 2))
    return float(per_unit.mean()), per_unit
