"""Per-session state of the Recording view: the loaded recording, its binning and quality report.

Loading and binning run in a background thread so the page stays responsive; the result (or the
error message) is posted to an :class:`~app.outbox.Outbox` that the session delivers.
"""

import logging
import threading

import param

from neurolattice_core.errors import NeurolatticeError
from neurolattice_core.recordings import (
    DEFAULT_SAMPLE,
    BinningParams,
    list_samples,
    load_recording,
    quality_report,
)
from neurolattice_core.recordings.binning import ensure_bin_width
from neurolattice_core.recordings.describe import describe_binned

from .outbox import Outbox

log = logging.getLogger(__name__)

#: Largest upload the page accepts, in megabytes (stated on the page).
MAX_UPLOAD_MB = 200


#: The binning settings a change of which bins the recording again.
BINNING_SETTINGS = ("bin_ms", "window_start_s", "window_stop_s", "align")


class RecordingState(param.Parameterized):
    """The recording of one session."""

    sample = param.Selector(objects=[s["name"] for s in list_samples()], default=DEFAULT_SAMPLE,
                            label="Sample to load",   # a choice: "Loaded:" says what is shown
                            doc="Shipped sample recording that 'Load sample' loads.")
    source_label = param.String("", constant=True, doc="What is loaded (file or sample name).")
    status = param.Selector(objects=["empty", "loading", "ready", "error"], default="empty",
                            constant=True, doc="Loading state.")
    error = param.String("", constant=True, doc="Why the last load or binning failed.")
    excluded_units = param.List([], item_type=int,
                                doc="Unit positions left out of the observables and fits.")
    version = param.Integer(0, constant=True, doc="Increments when new results are published.")

    def __init__(self, **params):
        super().__init__(**params)
        self.binning = BinningParams(name="binning")
        self.recording = None       # as loaded (a raster may not store its bin width)
        self.binned = None
        self.bin_width_note = None  # what was assumed for a raster without a bin width
        self.quality = None
        self.described = None
        self._lock = threading.Lock()
        self.outbox = Outbox(self)
        self._published = 0
        self._binning_in_use = self.binning.param.values()   # of the binned recording shown
        self._restoring = False
        self.binning.param.watch(self._on_binning, list(BINNING_SETTINGS))

    # ------------------------------------------------------------------ actions
    def load_sample(self, name=None, wait=False):
        """Load a shipped sample (``sample:NAME``) in the background."""
        name = name or self.sample
        return self._start(lambda: load_recording(f"sample:{name}"), f"sample:{name}", wait)

    def load_path(self, path, wait=False):
        """Load a server-side file (``neurolattice serve FILE``)."""
        return self._start(lambda: load_recording(str(path)), str(path), wait)

    def load_upload(self, filename, data, wait=False):
        """Load an uploaded file; the format is detected from content and ``filename``.

        ``data`` is bytes, or str for a text file (Panel's FileDropper decodes text/* files,
        a CSV for example, as UTF-8); str is encoded back to UTF-8 bytes.
        """
        cap = MAX_UPLOAD_MB * 2**20
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        return self._start(lambda: load_recording(raw, name=filename, size_cap_bytes=cap),
                           filename, wait)

    def _on_binning(self, *events):
        if not self._restoring:
            self.rebin()

    def restore_binning(self):
        """Set the binning settings back to those of the recording shown (after a refusal)."""
        values = {k: self._binning_in_use[k] for k in BINNING_SETTINGS
                  if self.binning.param.values()[k] != self._binning_in_use[k]}
        self._restoring = True
        try:
            self.binning.param.update(**values)
        finally:
            self._restoring = False

    def rebin(self, wait=False):
        """Bin the loaded recording again with the current binning settings."""
        if self.recording is not None:
            return self._start(None, self.source_label, wait)
        return None

    def set_exclusions(self, units):
        """Leave ``units`` (positions) out of the observables; recomputes them."""
        self.excluded_units = sorted(set(int(u) for u in units))
        if self.binned is not None:
            self._start(None, self.source_label, wait=False)

    def kept_units(self):
        """Positions of the units used for observables and fits."""
        if self.binned is None:
            return []
        drop = set(self.excluded_units)
        return [i for i in range(self.binned.shape[1]) if i not in drop]

    # ------------------------------------------------------------------ worker
    def _start(self, loader, label, wait):
        with param.edit_constant(self):
            self.param.update(status="loading", error="")
        thread = threading.Thread(target=self._work, args=(loader, label), daemon=True,
                                  name="neurolattice-recording")
        thread.start()
        if wait:
            thread.join()
            self.outbox.deliver()
        return thread

    def _work(self, loader, label):
        try:
            with self._lock:
                recording = loader() if loader is not None else self.recording
                # a raster that does not store its bin width takes bin_ms as it, at every binning
                settings = self.binning.param.values()
                timed, note = ensure_bin_width(recording, self.binning.bin_ms / 1000.0)
                binned = self.binning.bin(timed)
                if loader is not None:
                    self.excluded_units = []
                report = quality_report(binned)
                described = describe_binned(binned, self._kept(binned))
                self.recording, self.binned, self.bin_width_note = recording, binned, note
                self._binning_in_use = settings
                self.quality, self.described = report, described
            self._published += 1
            self.outbox.post(status="ready", source_label=label, version=self._published)
        except NeurolatticeError as error:
            self.outbox.post(status="error", error=str(error))
        except Exception as error:  # a bug: logged with its traceback, shown as one line
            log.exception("loading %s failed", label)
            self.outbox.post(status="error", error=f"unexpected error: {error}")

    def _kept(self, binned):
        drop = set(self.excluded_units)
        return [i for i in range(binned.shape[1]) if i not in drop]
