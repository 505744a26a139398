"""Small dense linear algebra inside Numba kernels: Cholesky solve and inverse diagonal.

Written out (rather than LAPACK) so that a failed factorisation is a return value the caller
can react to (adding jitter) inside a parallel kernel, without exceptions.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _cholesky_solve(A, g, d):
    """Solve A d = g for symmetric positive definite A (overwritten by L); False if not SPD."""
    p = A.shape[0]
    for j in range(p):
        s = A[j, j]
        for k in range(j):
            s -= A[j, k] * A[j, k]
        if not s > 0.0:
            return False
        ljj = math.sqrt(s)
        A[j, j] = ljj
        for r in range(j + 1, p):
            s = A[r, j]
            for k in range(j):
                s -= A[r, k] * A[j, k]
            A[r, j] = s / ljj
    for r in range(p):                      # L z = g
        s = g[r]
        for k in range(r):
            s -= A[r, k] * d[k]
        d[r] = s / A[r, r]
    for r in range(p - 1, -1, -1):          # L^T d = z
        s = d[r]
        for k in range(r + 1, p):
            s -= A[k, r] * d[k]
        d[r] = s / A[r, r]
    return True


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _inverse_diagonal(L, out):
    """diag((L L^T)^-1) from a Cholesky factor L (lower triangle of ``L``), into out (P,)."""
    p = L.shape[0]
    z = np.empty(p)
    for k in range(p):
        total = 0.0
        for r in range(k, p):               # z = L^-1 e_k is zero above row k
            s = 1.0 if r == k else 0.0
            for c in range(k, r):
                s -= L[r, c] * z[c]
            z[r] = s / L[r, r]
            total += z[r] * z[r]
        out[k] = total
