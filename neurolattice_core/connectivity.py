"""Connectivity presets for the equal-time couplings J_ij (MODEL.md section 2).

Every builder returns a :class:`Couplings`: the dense symmetric matrix (zero diagonal) when it is
cheap or needed, and always the CSR neighbour lists used by the sparse kernels.
"""

from dataclasses import dataclass

import numpy as np

from .errors import ParameterError

CONNECTIVITIES = ("all-to-all", "ring", "grid", "sk", "hopfield", "custom")


@dataclass(frozen=True)
class Couplings:
    """Equal-time couplings of N neurons.

    Attributes
    ----------
    kind : str
        ``"all-to-all"`` (every pair has the same coupling ``J_all``), ``"sparse"`` (few
        neighbours per neuron) or ``"dense"`` (general matrix).
    n_neurons : int
    J_all : float
        Per-pair coupling for ``kind == "all-to-all"`` (J/N), else 0.
    indptr, indices, weights : numpy.ndarray
        CSR lists: the neighbours ``indices[indptr[i]:indptr[i+1]]`` of neuron i and their
        couplings; each pair is listed from both sides. int64, int64, float64.
    """

    kind: str
    n_neurons: int
    J_all: float
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray

    def dense(self):
        """The symmetric coupling matrix, float64 (N, N), zero diagonal."""
        n = self.n_neurons
        if self.kind == "all-to-all":
            matrix = np.full((n, n), self.J_all)
            np.fill_diagonal(matrix, 0.0)
            return matrix
        matrix = np.zeros((n, n))
        rows = np.repeat(np.arange(n), np.diff(self.indptr))
        np.add.at(matrix, (rows, self.indices), self.weights)
        return matrix

    def sparse(self):
        """The coupling matrix as a scipy CSR matrix (N, N) sharing these arrays."""
        from scipy.sparse import csr_matrix
        n = self.n_neurons
        return csr_matrix((self.weights, self.indices, self.indptr), shape=(n, n))

    def local_fields(self, spins):
        """sum_j J_ij s_jt for every replica and tick, float64 (R, N, T), for spins (R, N, T)."""
        s = np.asarray(spins, dtype=np.float64)
        r, n, t = s.shape
        if self.kind == "all-to-all":
            return self.J_all * (s.sum(axis=1, keepdims=True) - s)
        stacked = s.transpose(1, 0, 2).reshape(n, r * t)
        return np.asarray(self.sparse() @ stacked).reshape(n, r, t).transpose(1, 0, 2)

    @property
    def ferromagnetic(self):
        """True when every coupling is >= 0 (the cluster algorithm applies)."""
        return self.J_all >= 0 and bool(np.all(self.weights >= 0))

    @property
    def mean_degree(self):
        """Average number of neighbours per neuron."""
        return len(self.indices) / max(self.n_neurons, 1)


def _from_edges(n, rows, cols, weights, kind="sparse"):
    """CSR couplings from a list of undirected edges (each given once, i != j)."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    both_rows = np.concatenate([rows, cols])
    both_cols = np.concatenate([cols, rows])
    both_weights = np.concatenate([weights, weights])
    order = np.lexsort((both_cols, both_rows))
    both_rows, both_cols, both_weights = both_rows[order], both_cols[order], both_weights[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(both_rows, minlength=n), out=indptr[1:])
    return Couplings(kind, n, 0.0, indptr, both_cols, both_weights)


def from_matrix(matrix, *, name="custom J"):
    """Couplings from a symmetric matrix; zero entries are dropped from the neighbour lists.

    Raises
    ------
    ParameterError
        When the matrix is not square, not symmetric, has a non-zero diagonal or non-finite values.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ParameterError(f"{name} must be a square N x N matrix, got shape {matrix.shape}.")
    if not np.all(np.isfinite(matrix)):
        bad = np.argwhere(~np.isfinite(matrix))[0]
        raise ParameterError(f"{name} has a non-finite entry at {tuple(bad)}; "
                             "replace it by a number.")
    if np.any(np.diag(matrix) != 0):
        raise ParameterError(f"{name} must have a zero diagonal (no self-coupling); "
                             "put a neuron's own drive in the field h_i instead.")
    asym = np.abs(matrix - matrix.T)
    if asym.max(initial=0.0) > 1e-12 * max(1.0, np.abs(matrix).max(initial=0.0)):
        i, j = np.unravel_index(np.argmax(asym), asym.shape)
        raise ParameterError(f"{name} must be symmetric: J[{i},{j}] = {matrix[i, j]} but "
                             f"J[{j},{i}] = {matrix[j, i]}. Symmetrise it with (J + J.T) / 2.")
    rows, cols = np.nonzero(np.triu(matrix, 1))
    return _from_edges(matrix.shape[0], rows, cols, matrix[rows, cols], kind="dense")


def all_to_all(n, J):
    """Mean-field "minitube": J_ij = J / N for every pair."""
    rows, cols = np.triu_indices(n, 1)
    couplings = _from_edges(n, rows, cols, np.full(rows.size, J / n))
    return Couplings("all-to-all", n, J / n, couplings.indptr, couplings.indices,
                     couplings.weights)


def ring(n, J, periodic=True):
    """Ring: J_ij = J for j = i +- 1 (mod N when periodic)."""
    if n < 2:
        return _from_edges(n, [], [], [])
    rows = np.arange(n if periodic and n > 2 else n - 1)
    return _from_edges(n, rows, (rows + 1) % n, np.full(rows.size, float(J)))


def grid(rows, cols, J, periodic=True):
    """An r x c sheet (neuron i = row * cols + col) with J on the 4 nearest neighbours."""
    index = np.arange(rows * cols).reshape(rows, cols)
    edges = []
    for axis, length in ((0, rows), (1, cols)):
        if length < 2:
            continue
        shifted = np.roll(index, -1, axis=axis)
        src, dst = index, shifted
        if not periodic or length == 2:
            keep = [slice(None), slice(None)]
            keep[axis] = slice(0, length - 1)
            src, dst = src[tuple(keep)], dst[tuple(keep)]
        edges.append((src.ravel(), dst.ravel()))
    if not edges:
        return _from_edges(rows * cols, [], [], [])
    src = np.concatenate([e[0] for e in edges])
    dst = np.concatenate([e[1] for e in edges])
    return _from_edges(rows * cols, src, dst, np.full(src.size, float(J)))


def sherrington_kirkpatrick(n, J0, spread, seed):
    """SK glass: J_ij = J0 / N + spread * z_ij / sqrt(N), z_ij ~ N(0, 1) from ``seed``."""
    from .kernels.rng import stream_key  # Numba: loaded with the first disordered model

    rng = np.random.Generator(np.random.Philox(key=int(stream_key(seed, 0x5C))))
    z = rng.standard_normal((n, n))
    matrix = np.triu(J0 / n + spread * z / np.sqrt(n), 1)
    return from_matrix(matrix + matrix.T, name="SK couplings")


def hopfield_patterns(n, n_patterns, seed):
    """P random patterns xi in {-1, +1}^N, int8 (P, N), reproducible from ``seed``."""
    from .kernels.rng import stream_key

    rng = np.random.Generator(np.random.Philox(key=int(stream_key(seed, 0x40F))))
    return np.where(rng.random((n_patterns, n)) < 0.5, -1, 1).astype(np.int8)


def hopfield(n, J, n_patterns, seed):
    """Hopfield memory: J_ij = (J / N) sum_mu xi^mu_i xi^mu_j with stored random patterns."""
    xi = hopfield_patterns(n, n_patterns, seed).astype(np.float64)
    matrix = (J / n) * (xi.T @ xi)
    np.fill_diagonal(matrix, 0.0)
    return from_matrix(matrix, name="Hopfield couplings")
