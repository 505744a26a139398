"""Boltzmann learning: refine a fit until the model's moments match the data's.

The likelihood of maxent / lft is maximal where the model's expected sufficient statistics equal
the data's (moment matching). Starting from any fit (by default pseudo-likelihood), each
iteration runs a few heat-bath sweeps of persistent chains of the engine
(:func:`.sampling.sample_lattice`, open time, T = the training trial length for lft; 64-tick
lattices of independent slices for maxent), estimates the model moments and moves the
parameters along the likelihood gradient preconditioned by the data Fisher matrix in
lattice-gas coordinates (:class:`.fisher.GasPreconditioner`, N up to about 100; beyond, or for
the drive u_t, by the diagonal rule of :func:`_gas_step`); lam is the L2 rule of
:mod:`.pseudolikelihood`. Chains start from training configurations.

Stopping rule: with z_k = (f^data_k - f^model_k) / sqrt(se_data_k^2 + se_model_k^2) over all
raw moments f (<s_i>, <s_i s_j>, <s_i,t s_i,t+1>, and nu_t with a drive), converged when the
root mean square of z is at most ``z_rms`` (default 1) and max |z| is below the two-sided 1 %
Bonferroni bound for that many moments: the remaining mismatch is within sampling error. The
rule is then re-checked after a verification run with fixed parameters (``verify_sweeps``). Data
standard errors come from 20 blocks (groups of trials, or time chunks when there are fewer than
20 trials), model ones from the spread over replicas. After ``max_iter`` iterations without
meeting the rule the result says ``converged = False``.
"""

import time

import numpy as np
from scipy import stats as sps

from ..errors import FitError
from .fisher import GasPreconditioner, gas_moments
from .pseudolikelihood import default_regularization
from .sampling import sample_lattice

__all__ = ["fit_boltzmann", "moment_vector"]

_MAXENT_TICKS = 64
_N_BLOCKS = 20


def moment_vector(spins, model, drive):
    """Per-replica raw moments, float64 (R, n_moments).

    Columns: <s_i> (N), <s_i s_j> for i < j, then for lft <s_i,t s_i,t+1> (N), then with a
    drive the per-tick population mean nu_t (T). Averages run over the ticks of each replica.
    """
    s = spins.astype(np.float32)
    r, n, t = s.shape
    iu = np.triu_indices(n, 1)
    parts = [s.mean(axis=2, dtype=np.float64),
             (np.einsum("rit,rjt->rij", s, s) / t)[:, iu[0], iu[1]].astype(np.float64)]
    if model == "lft":
        parts.append((s[:, :, :-1] * s[:, :, 1:]).mean(axis=2, dtype=np.float64))
    if drive:
        parts.append(s.mean(axis=1, dtype=np.float64))
    return np.concatenate(parts, axis=1)


def _data_moments(spins, model, drive):
    """Data moments (weighted over all samples) and their block standard errors."""
    r, n, t = spins.shape
    if drive and r < 4:
        raise FitError("Boltzmann learning of a drive u_t needs at least 4 aligned trials")
    if r >= _N_BLOCKS or drive:
        groups = np.array_split(np.arange(r), min(r, _N_BLOCKS))
        blocks = [spins[g] for g in groups]
    else:
        chunks = int(np.ceil(_N_BLOCKS / r))
        length = t // chunks
        if length < 2:
            raise FitError("too few ticks per trial to estimate moment errors for Boltzmann "
                           "learning")
        blocks = [spins[:, :, c * length:(c + 1) * length] for c in range(chunks)]
        blocks = [b[i:i + 1] for b in blocks for i in range(r)]
    values = np.stack([moment_vector(b, model, drive).mean(axis=0) for b in blocks])
    mean = moment_vector(spins, model, drive).mean(axis=0)
    se = values.std(axis=0, ddof=1) / np.sqrt(len(blocks))
    return mean, se


def _data_start(spins, reps, T):
    """Start configurations, int8 (reps, N, T), cut from (and tiled over) data ``spins``.

    Chains then begin in the data's basin: a spurious ordered phase of the model, if any, is
    reached by nucleation as in equilibrium, not imposed by a biased start.
    """
    r, n, t = spins.shape
    if t == T:
        return np.ascontiguousarray(spins[np.arange(reps) % r])
    x = spins.transpose(0, 2, 1).reshape(-1, n)
    idx = np.arange(reps * T) % x.shape[0]
    return np.ascontiguousarray(x[idx].reshape(reps, T, n).transpose(0, 2, 1))


def _mismatch(f_data, se_data, per_rep):
    """(RMS z, max |z|) of data moments against per-replica model moments (R, n_moments)."""
    f_model = per_rep.mean(axis=0)
    se_model = per_rep.std(axis=0, ddof=1) / np.sqrt(per_rep.shape[0])
    z = (f_data - f_model) / np.sqrt(se_data**2 + se_model**2 + 1e-300)
    return float(np.sqrt(np.mean(z**2))), float(np.max(np.abs(z)))


def _split(f, n, model, drive):
    npair = n * (n - 1) // 2
    m, c2 = f[:n], f[n:n + npair]
    rest = f[n + npair:]
    k = rest[:n] if model == "lft" else None
    nu = rest[n:] if (model == "lft" and drive) else (rest if drive else None)
    return m, c2, k, nu


def _gas_step(f_data, f_model, n, model, drive, J, K, lam, eta, n_samples, clip=0.5):
    """Preconditioned likelihood-gradient step, returned in spin parameters.

    The gradient is taken in lattice-gas coordinates (psi = (1 + s) / 2: biases b, W = 4 J,
    Kpsi = 4 K, MODEL.md section 2), where for sparse firing the statistics <psi_i>,
    <psi_i psi_j> are nearly uncorrelated, and each component is divided by the Bernoulli
    variance of its statistic (floored at 1 / n_samples): db_i = eta (p_d - p_m) / var,
    dW_ij = eta (q_d - q_m - lam W_ij / 16) / max(q_d, q_m, 1 / M), and alike for Kpsi and the
    drive. Mapped back (dJ = dW / 4, dK = dKpsi / 4, dh_i = db_i / 2 + sum_j dJ_ij + 2 dK_i,
    du = du_gas / 2) and clipped to +-``clip``; any positive preconditioner keeps the step an
    ascent direction, and the update stays sensible far from the data (e.g. a start in a
    spurious ordered phase).
    """
    floor = 1.0 / max(n_samples, 1)
    m_d, c2_d, k_d, nu_d = _split(f_data, n, model, drive)
    m_m, c2_m, k_m, nu_m = _split(f_model, n, model, drive)
    iu = np.triu_indices(n, 1)
    p_d, p_m = 0.5 * (1 + m_d), 0.5 * (1 + m_m)
    db = eta * (p_d - p_m) / np.maximum(np.maximum(p_d * (1 - p_d), p_m * (1 - p_m)), floor)
    q_d = 0.25 * (1 + m_d[iu[0]] + m_d[iu[1]] + c2_d)
    q_m = 0.25 * (1 + m_m[iu[0]] + m_m[iu[1]] + c2_m)
    W = 4.0 * J[iu]
    dW = eta * (q_d - q_m - lam * W / 16.0) / np.maximum(np.maximum(q_d, q_m), floor)
    dJ = np.zeros((n, n))
    dJ[iu] = np.clip(dW / 4.0, -clip, clip)
    dJ = dJ + dJ.T
    dK = None
    dh = db / 2.0 + dJ.sum(axis=1)
    if model == "lft":
        r_d, r_m = 0.25 * (1 + 2 * m_d + k_d), 0.25 * (1 + 2 * m_m + k_m)
        dKpsi = eta * (r_d - r_m - lam * 4.0 * K / 16.0) / np.maximum(np.maximum(r_d, r_m),
                                                                       floor)
        dK = np.clip(dKpsi / 4.0, -clip, clip)
        dh += 2.0 * dK
    du = None
    if drive:
        g_d, g_m = 0.5 * (1 + nu_d), 0.5 * (1 + nu_m)
        du = np.clip(eta * (g_d - g_m) / np.maximum(np.maximum(g_d * (1 - g_d),
                                                              g_m * (1 - g_m)), floor) / 2.0,
                     -clip, clip)
    return np.clip(dh, -clip, clip), dJ, dK, du


def fit_boltzmann(train, model, init, *, regularization=None, max_iter=100,
                  n_model_samples=None, sweeps_per_iter=10, burn_in=100, learning_rate=0.5,
                  z_rms=1.0, verify_sweeps=100, verify_chunks=4, seed=0):
    """Boltzmann learning of maxent or lft, starting from ``init``.

    Parameters
    ----------
    train : FitData
    model : {"maxent", "lft"}
    init : dict
        ``h``, ``J``, and ``K`` (lft), optional ``u`` (fits the drive too).
    regularization : float, optional
        Per-sample L2 strength (default 1 / n_samples as for pseudo-likelihood).
    max_iter : int
        Iteration guard.
    n_model_samples : int, optional
        (Replica, tick) samples per iteration (default max(half the training samples, 10000)).
    sweeps_per_iter : int
        Heat-bath sweeps between parameter updates (persistent chains).
    burn_in : int
        Sweeps before the first update.
    learning_rate : float
        eta, in (0, 1]; it decays as eta / (1 + iteration / 25).
    z_rms : float
        Convergence threshold on the RMS moment mismatch in standard errors.
    verify_sweeps, verify_chunks : int
        When the rule is met, the chains run ``verify_sweeps`` more sweeps with the parameters
        fixed and the rule is checked again on moments averaged over ``verify_chunks``
        snapshots; only then is the fit declared converged (guards against chains that have
        not relaxed yet, e.g. slow drifts of strongly coupled units).
    seed : int

    Returns
    -------
    dict
        ``h``, ``J``, ``K``, ``u``, ``regularization``, ``diagnostics`` (converged, iterations,
        seconds, z_rms, z_max, z_bound, warnings).
    """
    if model not in ("maxent", "lft"):
        raise FitError("Boltzmann learning fits maxent or lft (kinetic pseudo-likelihood is "
                       "already its exact maximum likelihood)")
    start = time.perf_counter()
    n = train.n_units
    drive = init.get("u") is not None
    if drive and not train.aligned:
        raise FitError("a drive u_t needs aligned trials")
    h = np.array(init["h"], dtype=np.float64)
    J = np.array(init["J"], dtype=np.float64)
    J = 0.5 * (J + J.T)
    np.fill_diagonal(J, 0.0)
    K = np.array(init["K"], dtype=np.float64) if model == "lft" else None
    u = np.array(init["u"], dtype=np.float64) if drive else None
    lam = default_regularization(train.n_samples) if regularization is None \
        else float(regularization)
    f_data, se_data = _data_moments(train.spins, model, drive)
    T = train.n_ticks if (model == "lft" or drive) else _MAXENT_TICKS
    if n_model_samples is None:
        n_model_samples = max(train.n_samples // 2, 10000)
    reps = max(8, int(np.ceil(n_model_samples / T)))
    z_bound = float(sps.norm.isf(0.005 / f_data.size))
    state, sweeps = _data_start(train.spins, reps, T), 0
    first = True
    precond, warnings = None, []
    try:
        precond = GasPreconditioner(train.spins, model)
    except FitError as exc:
        warnings.append(f"{exc}; using a diagonal preconditioner (slower convergence)")
    converged, it, zr, zm = False, 0, np.inf, np.inf
    for it in range(1, max_iter + 1):
        samples, state, sweeps = sample_lattice(
            h, J, K, n_ticks=T, n_replicas=reps, u=u,
            burn_in=burn_in if first else sweeps_per_iter, seed=seed, spins=state,
            sweep_offset=sweeps)
        first = False
        per_rep = moment_vector(samples, model, drive)
        f_model = per_rep.mean(axis=0)
        zr, zm = _mismatch(f_data, se_data, per_rep)
        if zr <= z_rms and zm <= z_bound:
            # verification: parameters fixed, chains run on, moments averaged over the run
            runs = []
            for _ in range(verify_chunks):
                samples, state, sweeps = sample_lattice(
                    h, J, K, n_ticks=T, n_replicas=reps, u=u, burn_in=verify_sweeps //
                    verify_chunks, seed=seed, spins=state, sweep_offset=sweeps)
                runs.append(moment_vector(samples, model, drive))
            per_rep = np.mean(runs, axis=0)
            f_model = per_rep.mean(axis=0)
            zr, zm = _mismatch(f_data, se_data, per_rep)
            if zr <= z_rms and zm <= z_bound:
                converged = True
                break
        eta = learning_rate / (1.0 + (it - 1) / 25.0)
        dh, dJ, dK, du = _gas_step(f_data, f_model, n, model, drive, J, K, lam, eta,
                                   train.n_samples)
        if precond is not None:
            dh, dJ, dK = precond.step(gas_moments(f_data, n, model, drive),
                                      gas_moments(f_model, n, model, drive), J, K, lam, eta)
        h += dh
        J += dJ
        if model == "lft":
            K += dK
        if drive:
            u += du
        if not (np.all(np.isfinite(J)) and np.all(np.isfinite(h))):
            raise FitError("Boltzmann learning diverged (non-finite parameters); lower the "
                           "learning rate or start from a pseudo-likelihood fit")
    if not converged:
        warnings.append(
            f"Boltzmann learning did not converge in {max_iter} iterations: moment mismatch "
        f"RMS z = {zr:.2f} (target {z_rms}), max |z| = {zm:.2f} (bound {z_bound:.2f})")
    if drive:
        shift = float(u.mean())
        u, h = u - shift, h + shift
    return {"h": h, "J": J, "K": K, "u": u,
            "regularization": {"rule": "lam = 1 / n_samples" if regularization is None
                               else "user value", "lam": lam},
            "diagnostics": {"converged": converged, "iterations": it,
                            "seconds": time.perf_counter() - start, "z_rms": zr, "z_max": zm,
                            "z_bound": z_bound, "n_model_samples": reps * T,
                            "warnings": warnings}}
