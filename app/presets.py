"""Named starting points for the Simulate view.

Each preset is a one-line explanation, the model parameters and the initial configuration
("random" hot start, "up" cold start, "pattern" Hopfield cue).
"""

THETA_C = 2.269185314213022

PRESETS = {
    "Critical 2-D Ising": (
        "Ring x periodic time with K = J at Onsager's critical temperature: domains of all sizes.",
        dict(connectivity="ring", neurons=128, ticks=512, J=1.0, K=1.0, h=0.0,
             temperature=THETA_C, time_boundary="periodic", neuron_boundary="periodic"), "random"),
    "Paramagnet": (
        "High temperature: short-lived, uncorrelated activity, the magnetisation averages to zero.",
        dict(connectivity="ring", neurons=128, ticks=512, J=1.0, K=1.0, h=0.0, temperature=4.0,
             time_boundary="periodic", neuron_boundary="periodic"), "random"),
    "Ordered phase": (
        "Below the critical temperature one state wins: the population stays locked up (cold "
        "start); raise the temperature past θc to watch the order melt.",
        dict(connectivity="ring", neurons=128, ticks=512, J=1.0, K=1.0, h=0.0, temperature=1.6,
             time_boundary="periodic", neuron_boundary="periodic"), "up"),
    "Spin glass (SK)": (
        "Random couplings of both signs: frozen, disordered patterns that differ between replicas.",
        dict(connectivity="sk", neurons=96, ticks=256, J=1.0, sk_J0=0.0, sk_spread=1.0, K=0.3,
             h=0.0, temperature=0.5, time_boundary="periodic"), "random"),
    "Hopfield memory": (
        "Couplings store three patterns; started from a noisy cue, the network retrieves the "
        "memory at low temperature and loses it when heated.",
        dict(connectivity="hopfield", neurons=100, ticks=256, J=1.0, hopfield_patterns=3, K=0.4,
             h=0.0, temperature=0.5, time_boundary="periodic"), "pattern"),
    "Sparse cortical-like raster": (
        "Weak all-to-all excitation, a negative field and temporal persistence: sparse spikes "
        "(about 2 % of the bins, as in many cortical recordings), some lasting a few ticks; "
        "with J/N per pair the neurons stay nearly independent.",
        dict(connectivity="all-to-all", neurons=100, ticks=512, J=0.8, K=0.5, h=-0.3,
             temperature=1.0, time_boundary="open"), "random"),
}

#: The preset that runs the fit of the loaded recording (see SessionStore.simulate_fit): its
#: parameters come from the Fit tab, so it has no entry in PRESETS and does not travel in links.
FIT_PRESET = "Fit of the loaded recording"
FIT_PRESET_NOTE = ("The model fitted to the loaded recording in the Fit tab (its couplings, "
                   "fields and temporal couplings, θ = 1, open time): its raster beside the "
                   "recording's. The fitted J_ij, K_i and h_i replace the J, K and h sliders; θ "
                   "scales them all.")


#: The model controls that some preset sets (the note says which of them were changed since).
PRESET_CONTROLS = sorted({key for _, values, _ in PRESETS.values() for key in values})


def preset_note(name, controls=None):
    """The one-line explanation of preset ``name`` (a name of PRESETS or FIT_PRESET).

    ``controls`` (the current model controls, a dict) adds which of the preset's parameters
    were changed since it was chosen, so that the explanation is not read as describing them.
    """
    if name == FIT_PRESET:
        return FIT_PRESET_NOTE
    note, values, _ = PRESETS[name]
    changed = [key for key, value in values.items()
               if controls is not None and key in controls and controls[key] != value]
    if changed:
        note += f" *Changed since: {', '.join(changed)}.*"
    return note

