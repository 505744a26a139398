"""Guided experiments for presentation mode: short sequences of steps that drive the engine.

Each step is one sentence of explanation and the changes it makes to the session, always through
the :class:`~app.store.SessionStore` (a preset, model parameters, play) and, for decimation, the
factor b by which :class:`ExperimentState` asks the view to coarse-grain the snapshot in time
(:func:`neurolattice_core.renormalization.decimate_time`, rule ``"keep"``). The page never
computes physics itself.
"""

from dataclasses import dataclass, field

import param

from .presets import THETA_C


@dataclass(frozen=True)
class Step:
    """One step of a guided experiment.

    Attributes
    ----------
    text : str
        One sentence shown in large type.
    preset : str or None
        Preset to restart from (None keeps the running lattice).
    controls : dict
        Model parameters to change (name -> value), validated by the store.
    decimation : int
        Time-decimation factor b >= 1 of the displayed snapshot.
    """

    text: str
    preset: str | None = None
    controls: dict = field(default_factory=dict)
    decimation: int = 1


EXPERIMENTS = {
    "Quench below θc": [
        Step("Hot start: at θ = 4, far above θc ≈ 2.27, every neuron flips almost "
             "independently and the raster is salt-and-pepper noise (|m| ≈ 0).",
             preset="Paramagnet"),
        Step("Quench: the temperature drops at once to θ = 1.5, below θc. Neighbouring neurons "
             "and ticks start to agree and domains of common activity form.",
             controls={"temperature": 1.5}),
        Step("Deeper quench to θ = 1.0: domains coarsen, their walls sharpen and |m| grows; a "
             "stripe that wraps around the periodic lattice can survive for a very long time.",
             controls={"temperature": 1.0}),
    ],
    "Heat through θc": [
        Step("Ordered start: at θ = 1.6 (θ/θc = 0.71) one state wins and the population stays "
             "locked in it (|m| ≈ 0.98).", preset="Ordered phase"),
        Step("Heat to θ = 2.1: still ordered, but islands of the other state come and go "
             "(|m| ≈ 0.87 in the infinite lattice).", controls={"temperature": 2.1}),
        Step(f"At θ = θc ≈ {THETA_C:.3f} the order is marginal: domains of all sizes, |m| "
             "fluctuates strongly and correlations decay as power laws.",
             controls={"temperature": THETA_C}),
        Step("Above θc (θ = 3) the order has melted: |m| falls to zero up to finite-size "
             "noise and activity is short-lived.", controls={"temperature": 3.0}),
    ],
    "Switch on temporal coupling": [
        Step("K = 0: every tick is an independent ring of neurons (J = 1, θ = 2.27); a ring has "
             "no order at any θ > 0 and there is no memory from one tick to the next.",
             preset="Critical 2-D Ising", controls={"K": 0.0}),
        Step("K = 0.4: each neuron now tends to repeat its state at the next tick; streaks along "
             "time appear (persistent activity).", controls={"K": 0.4}),
        Step("K = 1 = J: the lattice is isotropic and θ = θc: critical, with domains of all sizes "
             "in both directions.", controls={"K": 1.0}),
        Step("K = 2: strong persistence raises θc above θ (θ/θc < 1): the population settles "
             "into long-lived collective states.", controls={"K": 2.0}),
    ],
    "Decimate in time": [
        Step("The critical lattice as sampled: bin width Δ, every tick shown (b = 1).",
             preset="Critical 2-D Ising", decimation=1),
        Step("b = 2: keep every 2nd tick, as if the bins were 2Δ wide; features shorter than two "
             "ticks vanish and domains look half as long.", decimation=2),
        Step("b = 8: only every 8th tick; at θc domains exist on every scale, so the coarse "
             "raster still shows structure.", decimation=8),
        Step("The same b = 8 in the paramagnet (θ = 4): the correlation time is below one tick, "
             "so the coarse-grained raster is pure noise.", preset="Paramagnet", decimation=8),
    ],
}


class ExperimentState(param.Parameterized):
    """Which guided experiment is shown, its current step and the snapshot's decimation."""

    experiment = param.Selector(objects=list(EXPERIMENTS), default=list(EXPERIMENTS)[0],
                                doc="The guided experiment shown in presentation mode.")
    step = param.Integer(-1, bounds=(-1, None),
                         doc="Index of the current step (0-based); -1 before the first step.")
    decimation = param.Integer(1, bounds=(1, 64), softbounds=(1, 16),
                               doc="The snapshot is shown with every b-th tick (b = decimation).")

    def __init__(self, store, **params):
        super().__init__(**params)
        self.store = store

    @property
    def steps(self):
        """The steps of the current experiment."""
        return EXPERIMENTS[self.experiment]

    def go(self, index):
        """Apply step ``index`` (0-based, clipped) of the current experiment and play.

        A step with a preset restarts from it; the steps before ``index`` that have no preset of
        their own are applied first, so jumping to a step gives the state it describes.
        """
        index = min(max(int(index), 0), len(self.steps) - 1)
        start = max((i for i in range(index + 1) if self.steps[i].preset), default=0)
        store = self.store
        for i in range(start, index + 1):
            step = self.steps[i]
            if step.preset is not None:
                if store.preset == step.preset:
                    store.param.trigger("preset")  # restart from the preset
                else:
                    store.preset = step.preset
            if step.controls:
                store.controls.param.update(**step.controls)
        self.param.update(step=index, decimation=self.steps[index].decimation)
        store.play()

    def next(self):
        """Go to the next step (the first one when not started; stays on the last one)."""
        self.go(self.step + 1)

    def previous(self):
        """Go back one step (or apply the first one again)."""
        self.go(self.step - 1)

    @param.depends("experiment", watch=True)
    def _restart(self):
        """A newly chosen experiment waits for Next: the engine keeps its state until then."""
        self.param.update(step=-1, decimation=1)
