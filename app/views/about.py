"""The About view: the theory in plain words, with references."""

import panel as pn

ABOUT = r"""
## What neurolattice shows

**The lattice.** Record N neurons and cut time into ticks of width Δ (the bin width). Each neuron
at each tick either spiked (ψ = 1, drawn dark) or stayed silent (ψ = 0). The raster of one trial is
a grid of N x T sites — a *field configuration* on a two-dimensional lattice, neurons along one
axis, time along the other. Physicists write σ = 2ψ − 1 = ±1 and call it a spin.

**The action.** A model assigns each raster an energy

E[σ] = − Σ<sub>t</sub> Σ<sub>i&lt;j</sub> J<sub>ij</sub> σ<sub>it</sub> σ<sub>jt</sub>
− Σ<sub>t</sub> Σ<sub>i</sub> K<sub>i</sub> σ<sub>it</sub> σ<sub>i,t+1</sub>
− Σ<sub>t</sub> Σ<sub>i</sub> h<sub>it</sub> σ<sub>it</sub>,

and a probability exp(−E/θ). *J* couples neurons at the same tick (synchrony), *K* couples a
neuron with itself one tick later (persistence), *h* is each neuron's drive and θ the temperature
(noise). With K = 0 this is the pairwise maximum-entropy model of Schneidman et al. (2006); the
lattice field theory adds time.

**Phases.** At high θ activity is noisy and uncorrelated (*paramagnetic*). Below a critical θ the
population locks into one collective state (*ordered*). With random couplings of both signs it
freezes into disordered patterns that differ from trial to trial (*glassy*). Near the critical
point correlations span the whole network — the regime often proposed for cortex.

**What a fit means.** Fitting finds the J, K and h under which the recorded rasters are most
probable (pseudo-likelihood, exact likelihood or Boltzmann learning). A good fit reproduces rates,
pairwise and lagged correlations and the distribution of synchronous spikes on *held-out* trials,
better than a model of independent neurons.

**Decimation.** The parameters depend on how we look: a wider bin (Δ → bΔ) or recording only n
of the N neurons in a cortical column changes the effective couplings. Renormalisation by
decimation makes the change exact or controlled (for a chain, tanh(K′/θ) = tanh(K/θ)<sup>b</sup>),
so fitted parameters can be compared across bin widths and array sizes.

## References

- G. Bardella, S. Franchini, P. Pani, S. Ferraina, *Lattice physics approaches for neural
  networks*, iScience 27, 111390 (2024), arXiv:2405.12022.
- G. Bardella, S. Franchini, L. Pan, R. Balzan, S. Ramawat, E. Brunamonti, P. Pani, S. Ferraina,
  *Neural activity in quarks language: lattice field theory for a network of real neurons*,
  Entropy 26, 495 (2024), arXiv:2310.09178.
- E. Schneidman, M. J. Berry, R. Segev, W. Bialek, Nature 440, 1007 (2006).
- Y. Roudi, J. Hertz, Phys. Rev. Lett. 106, 048702 (2011).
- L. Onsager, Phys. Rev. 65, 117 (1944); B. Kaufman, Phys. Rev. 76, 1232 (1949).
"""


class AboutView(pn.viewable.Viewer):
    """Static explanatory text."""

    def __panel__(self):
        return pn.pane.Markdown(ABOUT, sizing_mode="stretch_width", max_width=900,
                                css_classes=["nl-about"])
