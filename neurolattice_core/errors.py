"""Exceptions raised by neurolattice for bad input.

Every message says what is wrong, where, and how to fix it. The CLI turns any
:class:`NeurolatticeError` into one line on stderr and exit code 2.
"""


class NeurolatticeError(Exception):
    """Base class of every error caused by the user's input rather than by a bug."""


class ParameterError(NeurolatticeError, ValueError):
    """A model or engine parameter is outside its valid range or inconsistent with another."""


class AlgorithmError(ParameterError):
    """The chosen update algorithm cannot sample these couplings (cluster with J_ij or K < 0)."""


class MemoryBudgetError(ParameterError):
    """A request would not fit in memory; the message gives the estimate and the limit."""


class RecordingError(NeurolatticeError, ValueError):
    """A recording file is unreadable, malformed or inconsistent."""


class RecordingFormatError(RecordingError):
    """The file's content does not match any supported format (or its extension lies)."""


class RecordingTooLargeError(RecordingError):
    """The file exceeds the configured size cap."""


class BinningError(RecordingError):
    """Binning parameters do not fit the recording (bin width, window, alignment event)."""


class FitError(NeurolatticeError, ValueError):
    """A fit cannot be run on this data, or did not produce a usable model."""


class RecordingNotFoundError(RecordingError):
    """The recording path (file, folder or shipped sample name) does not exist."""


class EmptyRecordingFileError(RecordingFormatError):
    """The file (or upload) holds zero bytes."""


class RecordingExtensionError(RecordingFormatError):
    """The file's extension names one format but its content is another."""


class RecordingCorruptError(RecordingFormatError):
    """The file is recognised but truncated, corrupt or structurally inconsistent."""


class NoUnitsError(RecordingError):
    """The recording holds no units (or none are left after the label selection)."""


class SpikeTimesError(RecordingError):
    """Spike times are NaN, infinite, negative, unsorted or clearly in the wrong unit."""


class RasterValueError(RecordingError):
    """A pre-binned raster holds values that are not spike counts (negative, fractional, NaN)."""
