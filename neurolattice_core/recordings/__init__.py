"""Recordings: load spike data in the formats labs use, bin it into lattice fields, describe it.

- :func:`load_recording` (:mod:`.loader`): NWB, Kilosort/Phy folder or zip, CSV/TSV, NPZ/NPY,
  MATLAB v5 and v7.3, chosen by content and extension; ``"sample:NAME"`` loads a shipped sample
  (:mod:`.samples`). Bad input raises a :class:`~neurolattice_core.errors.RecordingError`
  subclass whose message says what is wrong, where and how to fix it.
- :class:`Recording` (:mod:`.recording`): units, spike times in seconds, trials, provenance (or
  a pre-binned raster).
- :func:`bin_recording` (:mod:`.binning`): per-trial rasters (trials x units x ticks), binary
  field and counts, alignment, edge tolerance, multi-spike fraction.
- :func:`quality_report` (:mod:`.quality`): rates, silent/near-constant units, near-duplicate
  pairs, stationarity, proposed exclusions.
- :func:`inspect_recording` (:mod:`.inspect`): all of it as one JSON-ready dict.

Format modules (:mod:`.nwb`, :mod:`.phy`, :mod:`.text`, :mod:`.npz`, :mod:`.matlab`) import
their heavy dependencies (pynwb, h5py, scipy.io) only when used.
"""

from neurolattice_core.recordings.binning import (
    BinnedRecording,
    BinningParams,
    bin_recording,
)
from neurolattice_core.recordings.inspect import inspect_recording
from neurolattice_core.recordings.loader import detect_format, load_recording
from neurolattice_core.recordings.quality import QualityParams, QualityReport, quality_report
from neurolattice_core.recordings.recording import Recording, Trials
from neurolattice_core.recordings.samples import DEFAULT_SAMPLE, list_samples, load_sample

__all__ = [
    "BinnedRecording",
    "BinningParams",
    "DEFAULT_SAMPLE",
    "QualityParams",
    "QualityReport",
    "Recording",
    "Trials",
    "bin_recording",
    "detect_format",
    "inspect_recording",
    "list_samples",
    "load_recording",
    "load_sample",
    "quality_report",
]
