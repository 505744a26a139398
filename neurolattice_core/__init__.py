"""neurolattice core: the lattice field theory of neural populations, without any GUI.

Public entry points: :class:`~neurolattice_core.model.LatticeModel` (the action) and
:class:`~neurolattice_core.sampler.Sampler` (the engine's runner).
"""

import os

# Idle Numba/OpenMP worker threads sleep instead of spinning: the engine shares the machine with
# a web server and with other sessions' engines (spinning made 2-thread runs 10-100x slower under
# load). Set before Numba starts its thread pool; an explicit user setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._vector_width import prefer_full_vector_width  # noqa: E402

prefer_full_vector_width()

__version__ = "0.1.0"
