"""Energy and magnetisation read from the general path's working layout, and measured sweeps.

A sampler measures after every sweep. Reading the spins out of the checkerboard layout
(:func:`.local_layout._merge`) and measuring them (:func:`.byte_moments.byte_moments`) took
about three times as long as the sweep of a 128 x 512 lattice, and a Python call per sweep as
long again. :func:`layout_moments` measures the working array W in place, and
:func:`sweeps_serial_measured` runs the sweeps and the measurements of a call in one kernel.

The temporal bonds come from the ghosts of the layout (:mod:`.local_layout`): in a block row,
even cell j sits between odd cells d + j - 1 and d + j, odd cell d + j between even cells j and
j + 1, and the cells just past each segment hold the neighbouring block's edge, the wrapped
tick for periodic time, or 0 where time is open. So every bond (t, t + 1) is counted once as
even j x odd d + j (t even) or odd d + j x even j + 1 (t odd), and the ghosts make the edges
right without special cases (T == 2 periodic couples the two ticks twice, as the energy does).
"""

import numpy as np
from numba import njit

from .local_layout import _block_counts, _geometry
from .local_sweep import _sweeps_serial
from .multispin_update import popcount64

_SUMS = {"reassoc", "contract"}   # the field sums may be reordered (vectorised), nothing else


@njit(cache=True, nogil=True, fastmath=_SUMS)
def layout_moments(W, T, B, all_to_all, J_all, indptr, indices, weights, K, h_rows, h_row_of):
    """Energy and magnetisation sums of each replica, float64 (R,) each, from W.

    W : int8 (R nb, N, P), the working array of layout block B with its ghosts refreshed (as
    every driver leaves it). The couplings are the exact (float64) ones of the model: all-to-all
    (``all_to_all``) gives every pair ``J_all``, otherwise the CSR lists hold each pair from
    both sides; K float64 (N,); the fields are ``h_rows[h_row_of[i], f]`` (float64 (M, T),
    int64 (N,)) in the permuted tick order [even ticks | odd ticks]. The energy is the action
    of ``LatticeModel.energy`` (as :func:`.byte_moments.byte_moments`; the float sums are
    taken in another order, so the two agree to rounding). Spin products are summed in int32
    (at most T or N terms of +-1), which vectorises.
    """
    _, d, nb = _geometry(T, B)
    n_rep, n = W.shape[0] // nb, W.shape[1]
    ne = (T + 1) // 2
    energy = np.zeros(n_rep)
    magnetization = np.zeros(n_rep)
    slice_sums = np.zeros(T, dtype=np.int32)     # permuted tick order
    bits = np.zeros((0 if all_to_all else n, _packed_width(T, B)), dtype=np.uint64)
    du, neu = np.uint64(d), np.uint64(ne)
    for r in range(n_rep):
        slice_sums[:] = 0
        e = 0.0
        if not all_to_all:
            _pack_signs(W, r * nb, nb, T, B, d, bits)
        for i in range(n):
            iu, hr = np.uint64(i), np.uint64(h_row_of[i])
            bonds = np.int32(0)
            field = 0.0
            for b in range(nb):
                row = np.uint64(r * nb + b)
                ne_b, no_b = _block_counts(T, B, b)
                k0 = np.uint64(b * B)
                for j in range(ne_b):       # unsigned offsets: no wraparound test, vectorises
                    ju = np.uint64(j)
                    s = np.int32(W[row, iu, ju])
                    bonds += s * np.int32(W[row, iu, du + ju])
                    slice_sums[k0 + ju] += s
                    field += h_rows[hr, k0 + ju] * s
                for j in range(no_b):
                    ju = np.uint64(j)
                    s = np.int32(W[row, iu, du + ju])
                    bonds += s * np.int32(W[row, iu, ju + np.uint64(1)])
                    slice_sums[neu + k0 + ju] += s
                    field += h_rows[hr, neu + k0 + ju] * s
            e -= K[i] * bonds + field
            if all_to_all:
                continue
            for p in range(indptr[i], indptr[i + 1]):
                other = indices[p]
                if other > i:
                    e -= weights[p] * _overlap(bits, i, other, T)
        total = np.int64(0)
        pairs = np.int64(0)     # all-to-all: 2 sum_{i<j} s_it s_jt = S_t^2 - N, summed over t
        for f in range(T):
            total += slice_sums[f]
            pairs += np.int64(slice_sums[f]) * slice_sums[f] - n
        if all_to_all:
            e -= J_all * (pairs / 2)
        energy[r] = e
        magnetization[r] = total
    return energy, magnetization


@njit(cache=True, nogil=True)
def _packed_width(T, B):
    """Words per neuron of :func:`_pack_signs`: each segment of each block in whole words."""
    total = 0
    for b in range(_geometry(T, B)[2]):
        ne_b, no_b = _block_counts(T, B, b)
        total += (ne_b + 63) // 64 + (no_b + 63) // 64
    return total


@njit(cache=True, nogil=True)
def _pack_signs(W, row0, nb, T, B, d, bits):
    """bits[i] (uint64 (N, :func:`_packed_width`)): a 1 for each +1 spin of neuron i.

    The spins of one replica (rows row0 .. row0 + nb - 1 of W), segment by segment, each
    segment from a new word: the same place for every neuron's tick, which is all an overlap
    needs; the bits past a segment's end stay 0.
    """
    for i in range(W.shape[1]):
        w = 0
        for b in range(nb):
            row = np.uint64(row0 + b)
            ne_b, no_b = _block_counts(T, B, b)
            w = _pack_segment(W, row, np.uint64(i), np.uint64(0), ne_b, bits, w)
            w = _pack_segment(W, row, np.uint64(i), np.uint64(d), no_b, bits, w)


@njit(cache=True, nogil=True, inline="always")
def _pack_segment(W, row, i, column, length, bits, w):
    """Pack cells column .. column + length - 1 of W[row, i] into bits[i, w, ...]; next w."""
    for start in range(0, length, 64):
        word = np.uint64(0)
        first = column + np.uint64(start)
        for q in range(min(64, length - start)):   # branch-free: spins are coin flips
            word |= np.uint64(W[row, i, first + np.uint64(q)] > 0) << np.uint64(q)
        bits[i, w] = word
        w += 1
    return w


@njit(cache=True, nogil=True, inline="always")
def _overlap(bits, i, j, T):
    """sum_t s_it s_jt = T - 2 (ticks where the spins differ), from the packed signs."""
    differ = np.uint64(0)
    for w in range(bits.shape[1]):
        differ += popcount64(bits[i, w] ^ bits[j, w])
    return T - 2 * np.int64(differ)


@njit(cache=True, nogil=True)
def sweeps_serial_measured(W, S, phi, kind, J_all, Jq, scale, indptr, indices, weights, order,
                           colours, K, hp, hrow, m2b, periodic, metropolis, n_sweeps, keys,
                           sweep_offset, cls, block, every, energy_terms):
    """The serial driver's sweeps, measuring after each sweep number divisible by ``every``.

    The arguments up to ``block`` are those of :func:`.local_sweep._sweeps_serial`;
    ``energy_terms`` are the arguments of :func:`layout_moments` after B. Returns flips per
    replica int64 (R,), the sweep numbers measured int64 (k,), and the energy and
    magnetisation sums float64 (k, R) each.
    """
    all_to_all, J_exact, csr_ptr, csr_idx, csr_w, K_exact, h_rows, h_row_of = energy_terms
    T = hp.shape[1]
    n_rep = m2b.shape[0]
    n_measured = (sweep_offset + n_sweeps) // every - sweep_offset // every
    measured_at = np.empty(n_measured, dtype=np.int64)
    energy = np.empty((n_measured, n_rep))
    magnetization = np.empty((n_measured, n_rep))
    flips = np.zeros(n_rep, dtype=np.int64)
    done, k = 0, 0
    while done < n_sweeps:
        chunk = min(every - (sweep_offset + done) % every, n_sweeps - done)
        flips += _sweeps_serial(W, S, phi, kind, J_all, Jq, scale, indptr, indices, weights,
                                order, colours, K, hp, hrow, m2b, periodic, metropolis, chunk, keys,
                                sweep_offset + done, cls, block)
        done += chunk
        if (sweep_offset + done) % every == 0:
            e, m = layout_moments(W, T, block, all_to_all, J_exact, csr_ptr, csr_idx, csr_w,
                                  K_exact, h_rows, h_row_of)
            energy[k, :] = e
            magnetization[k, :] = m
            measured_at[k] = sweep_offset + done
            k += 1
    return flips, measured_at, energy, magnetization
