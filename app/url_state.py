"""The page's state in its URL, so that a shared link reopens the same view.

The query string carries the preset, the engine's algorithm, every model parameter that differs
from the preset (and always the seed), the open tab, presentation mode and the guided experiment's
step, e.g. ``?preset=Ordered+phase&temperature=2.1&seed=3&present=1&experiment=heat-through-c``.
Values are read once when the session starts; each one is checked on its own (type, bounds) and
then all together by the store, and anything malformed is ignored with a message on the page. The
URL follows later changes (``history.pushState``: no reload), at most twice a second.
"""

import math
import re
from urllib.parse import urlencode

import param

from neurolattice_core.model import LatticeModel

from .experiments import EXPERIMENTS
from .presets import FIT_PRESET, PRESETS
from .store import CONTROL_PARAMETERS

#: Query keys that are not model parameters.
PAGE_KEYS = ("preset", "algorithm", "tab", "present", "experiment", "step")


def slug(text):
    """A URL-friendly name: lower case, runs of other characters replaced by one '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class PageState(param.Parameterized):
    """What the page shows besides the store: explore or present, and the open tab."""

    mode = param.Selector(objects=["explore", "present"], default="explore",
                          doc="explore: the tabs; present: the presentation layout.")
    tab = param.String("simulate", doc="Slug of the open tab (see :func:`slug`).")


def decode_args(session_args):
    """The query of a Bokeh request (name -> list of bytes) as name -> last value (str)."""
    decoded = {}
    for name, values in (session_args or {}).items():
        if values:
            value = values[-1]
            decoded[name] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return decoded


def _parse_parameter(name, text):
    """``text`` as a valid value of LatticeModel parameter ``name``; raises ValueError."""
    parameter = LatticeModel.param[name]
    if text in ("", "None") and parameter.allow_None:
        value = None
    elif isinstance(parameter, param.Integer):
        try:
            value = int(text)
        except ValueError:
            raise ValueError("must be a whole number") from None
    elif isinstance(parameter, param.Number):
        try:
            value = float(text)
        except ValueError:
            raise ValueError("must be a number") from None
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
    else:
        value = text
    LatticeModel(name="url-check").param.update(**{name: value})  # type, bounds, objects
    return value


def _format(name, value):
    """A parameter value as it appears in the URL (floats always the same way: 6 -> '6.0').

    Floats keep 12 significant digits: a slider's 3.999999999999999 is written as 4.0.
    """
    if value is None:
        return ""
    parameter = LatticeModel.param[name]
    if isinstance(parameter, param.Number) and not isinstance(parameter, param.Integer):
        return repr(float(f"{float(value):.12g}"))
    return str(value)


def _short_error(error):
    text = re.sub(r"^\w+ parameter '[^']+' ", "", str(error)).split(". ")[0].rstrip(".")
    return text if len(text) < 160 else text[:157] + "..."


class LinkState:
    """Reads a session's link once and keeps the browser's URL in step with the page.

    Parameters
    ----------
    store : SessionStore
    experiments : ExperimentState
    page : PageState
    tab_names : list of str
        Titles of the tabs, in order (their slugs are the values of ``tab``).
    location : panel.io.location.Location or None
        The session's location (None outside a server: the URL is then neither read nor written).
    """

    def __init__(self, store, experiments, page, tab_names, location=None):
        self.store, self.experiments, self.page = store, experiments, page
        self.tabs = [slug(name) for name in tab_names]
        self.location = location

    # ------------------------------------------------------------------ reading
    def apply(self, args):
        """Apply the query ``args`` (name -> str); return the list of values ignored and why."""
        problems = self._apply_page(args)  # a guided step first: the link's values refine it
        store = self.store
        preset = args.get("preset")
        if preset is not None:
            if preset in PRESETS:
                if preset != store.preset:
                    store.preset = preset
            elif preset == FIT_PRESET:
                problems.append(f"preset={preset!r} needs a fit of this page's recording: fit "
                                "it in the Fit tab, then choose this preset or Simulate this fit")
            else:
                problems.append(f"preset={preset!r} is not a preset (one of: "
                                f"{', '.join(PRESETS)})")
        algorithm = args.get("algorithm")
        if algorithm is not None:
            if algorithm in store.param.algorithm.objects:
                store.algorithm = algorithm
            else:
                problems.append(f"algorithm={algorithm!r} is not one of "
                                f"{', '.join(store.param.algorithm.objects)}")
        values = {}
        for name, text in args.items():
            if name in PAGE_KEYS:
                continue
            if name not in CONTROL_PARAMETERS:
                problems.append(f"{name}={text!r} is not a setting of this page")
                continue
            try:
                values[name] = _parse_parameter(name, text)
            except ValueError as error:
                problems.append(f"{name}={text!r}: {_short_error(error)}")
        if values:
            store.message = ""
            store.controls.param.update(**values)
            if store.message and store.message_level == "error":
                problems.append(f"the link's parameters together were refused ({store.message})")
                store.message = ""   # said once, with the link's other problems
            store.reset()  # from the preset's initial state, with the link's seed
        return problems

    def _apply_page(self, args):
        problems = []
        tab = args.get("tab")
        if tab is not None:
            if slug(tab) in self.tabs:
                self.page.tab = slug(tab)
            else:
                problems.append(f"tab={tab!r} is not one of {', '.join(self.tabs)}")
        present = args.get("present")
        if present is not None:
            if present.lower() in ("1", "true", "yes", "0", "false", "no"):
                self.page.mode = "present" if present.lower() in ("1", "true", "yes") else \
                    "explore"
            else:
                problems.append(f"present={present!r} must be 1 or 0")
        experiment = args.get("experiment")
        if experiment is not None:
            names = {slug(name): name for name in EXPERIMENTS}
            if slug(experiment) in names:
                self.experiments.experiment = names[slug(experiment)]
            else:
                problems.append(f"experiment={experiment!r} is not one of "
                                f"{', '.join(names)}")
        step = args.get("step")
        if step is not None:
            count = len(self.experiments.steps)
            try:
                number = int(step)
                if not 1 <= number <= count:
                    raise ValueError
            except ValueError:
                problems.append(f"step={step!r} must be a whole number from 1 to {count}")
            else:
                self.experiments.go(number - 1)
        return problems

    # ------------------------------------------------------------------ writing
    def query(self):
        """The page's current state as query parameters (name -> str)."""
        store = self.store
        base = {name: LatticeModel.param[name].default for name in CONTROL_PARAMETERS}
        base.update(PRESETS[store.preset][1] if store.preset in PRESETS else {})
        query = {"preset": store.preset}
        if store.algorithm != "auto":
            query["algorithm"] = store.algorithm
        for name in CONTROL_PARAMETERS:
            value = getattr(store.controls, name)
            if name == "seed" or value != base[name]:
                query[name] = _format(name, value)
        if self.page.tab != self.tabs[0]:
            query["tab"] = self.page.tab
        if self.page.mode == "present":
            query["present"] = "1"
            query["experiment"] = slug(self.experiments.experiment)
            if self.experiments.step >= 0:
                query["step"] = str(self.experiments.step + 1)
        return query

    def search(self):
        """The query string (``?a=1&b=2``) of :meth:`query`."""
        return "?" + urlencode(self.query())

    def write(self):
        """Put the current state in the browser's address bar when it changed (no reload).

        Called twice a second by the session (a periodic callback): a dragged slider then adds
        a few history entries, not hundreds, and the browser's own report of its location on
        page load cannot overwrite the state. While the engine runs a fit ("Simulate this fit")
        the address keeps the last state a link can reopen.
        """
        if self.location is None or self.store.simulating_fit:
            return   # a fit's couplings do not fit in a link: the last state that does stays
        search = self.search()
        if self.location.search != search:
            self.location.search = search
