"""neurolattice core: the lattice field theory of neural populations, without any GUI.

Public entry points: :class:`~neurolattice_core.model.LatticeModel` (the action) and
:class:`~neurolattice_core.sampler.Sampler` (the engine's runner).
"""

__version__ = "0.1.0"
