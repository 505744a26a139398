"""Sample recordings shipped in ``assets/samples`` (provenance and licences in its README).

Load one with ``load_recording("sample:NAME")`` or :func:`load_sample`. The app's default is
:data:`DEFAULT_SAMPLE` (Onken Movie1Exp2: 49 units x 30 trials of 18 s, salamander retina, CC0):
the largest population with trials, and it holds near-duplicate pairs the quality report should
flag.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

from neurolattice_core.errors import ParameterError, RecordingNotFoundError

__all__ = ["SAMPLES", "DEFAULT_SAMPLE", "SAMPLES_DIR", "list_samples", "sample_path",
           "load_sample"]

#: Folder holding the sample files (the app may point it elsewhere, e.g. an installed copy).
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "samples"

#: Name of the app's default sample.
DEFAULT_SAMPLE = "onken-movie1-exp2"

_ONKEN = ("Onken A, Liu JK, Karunasekara PPCR, Delis I, Gollisch T, Panzeri S (2016), PLoS "
          "Comput Biol 12(11): e1005189; data doi:10.5061/dryad.4ch10")
_MAXENT = "Maoz O, Schneidman E, maximum-entropy toolbox, doi:10.5281/zenodo.191625"


@dataclass(frozen=True)
class Sample:
    """A shipped sample: file, loader options and provenance."""

    name: str
    relpath: str
    description: str
    licence: str
    citation: str
    options: dict = field(default_factory=dict)


def _onken(movie, exp, units, spikes):
    return Sample(
        f"onken-movie{movie}-exp{exp}",
        f"onken2016-salamander-retina/Movie{movie}Exp{exp}.mat",
        f"Salamander retina, {units} units x 30 trials x 18 s of natural movie {movie} "
        f"(experiment {exp}), {spikes:,} spikes",
        "CC0 1.0", _ONKEN,
        {"variable": "Spikes", "time_unit": "ms", "trial_duration_s": 18.0},
    )


SAMPLES = {s.name: s for s in (
    _onken(1, 1, 38, 26968),
    _onken(2, 1, 38, 34889),
    _onken(1, 2, 49, 76833),
    _onken(2, 2, 49, 76128),
    Sample("maxent-example50", "maxent-toolbox-example50/example50.mat",
           "Binary raster, 50 units x 40,000 bins (bin width undocumented), MATLAB v7.3",
           "MIT", _MAXENT, {"variable": "spikes50"}),
    Sample("maxent-example15-spatiotemporal",
           "maxent-toolbox-example50/example15_spatiotemporal.mat",
           "Binary raster, 15 units x 40,000 bins (bin width undocumented), MATLAB v5",
           "MIT", _MAXENT, {"variable": "spikes15_time_dependent"}),
)}


def list_samples():
    """Names, descriptions and licences of the shipped samples (JSON-ready list of dicts)."""
    return [{"name": s.name, "source": f"sample:{s.name}", "description": s.description,
             "licence": s.licence, "citation": s.citation, "default": s.name == DEFAULT_SAMPLE}
            for s in SAMPLES.values()]


def _get(name):
    if name not in SAMPLES:
        raise RecordingNotFoundError(
            f"no shipped sample {name!r}; samples: {', '.join(SAMPLES)}"
        )
    return SAMPLES[name]


def sample_path(name):
    """Path of a sample's file."""
    return Path(SAMPLES_DIR) / _get(name).relpath


def load_sample(name, **options):
    """Load a shipped sample as a :class:`~neurolattice_core.recordings.recording.Recording`.

    Parameters
    ----------
    name : str
        A name from :data:`SAMPLES` (without the ``sample:`` prefix).
    **options
        Loader options overriding the sample's (e.g. ``bin_width_s`` for the rasters).
    """
    from neurolattice_core.recordings.loader import load_recording

    sample = _get(name)
    path = sample_path(name)
    if not os.path.isfile(path):
        raise RecordingNotFoundError(
            f"sample {name!r}: file {path} is missing; reinstall neurolattice or set "
            "samples.SAMPLES_DIR to the folder holding assets/samples"
        )
    opts = dict(sample.options)
    unknown = set(options) - {"bin_width_s", "axes", "variable", "trial_duration_s",
                              "time_unit", "size_cap_bytes"}
    if unknown:
        raise ParameterError(f"options {sorted(unknown)} do not apply to sample {name!r}")
    opts.update(options)
    rec = load_recording(path, **opts)
    return rec.with_provenance(sample=name, licence=sample.licence, citation=sample.citation,
                               source=f"sample:{name}")
