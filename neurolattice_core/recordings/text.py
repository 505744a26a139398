"""CSV/TSV spike tables in long form: one row per spike, ``unit, time``.

Accepted layout
---------------
- Delimiter: tab, comma, semicolon or white space (detected from the first data row).
- Optional header row. Recognised column names (case-insensitive): unit column ``unit``,
  ``unit_id``, ``cluster``, ``cluster_id``, ``neuron``, ``cell``, ``id``; time column ``time``,
  ``t``, ``spike_time(s)``, ``timestamp(s)``. A unit suffix on the time column (``time_ms``,
  ``time (s)``, ``t[ms]``) sets the time unit. Without a header, column 0 is the unit and
  column 1 the time. Lines starting with ``#`` are comments.
- Unit ids are integers when every id parses as one, otherwise strings.
- Time unit: the ``time_unit`` argument, else the header suffix, else detected (seconds vs
  milliseconds, see :func:`~neurolattice_core.recordings._checks.detect_time_unit`); the choice
  is stated in the recording's warnings and provenance.
"""

import re

import numpy as np

from neurolattice_core.errors import NoUnitsError, RecordingCorruptError, SpikeTimesError
from neurolattice_core.recordings._timeunits import normalize_time_unit
from neurolattice_core.recordings.recording import Recording

__all__ = ["load_text"]

_UNIT_NAMES = {"unit", "unit_id", "unitid", "units", "cluster", "cluster_id", "clusterid",
               "clu", "neuron", "neuron_id", "cell", "cell_id", "id", "unit_ids"}
_TIME_NAMES = {"time", "times", "t", "spike_time", "spike_times", "spiketime", "spiketimes",
               "timestamp", "timestamps", "ts"}
_SUFFIX = re.compile(
    r"^(?P<base>.*?)[\s_\-]*[\(\[]?(?P<unit>s|sec|secs|seconds|ms|msec|milliseconds|us|usec|"
    r"microseconds)[\)\]]?$"
)


def _split_name(raw):
    """Return (base name, unit or None) of a header field such as ``'time (ms)'``."""
    name = raw.strip().strip('"').strip("'").lower()
    if name in _TIME_NAMES or name in _UNIT_NAMES:
        return name, None
    m = _SUFFIX.match(name)
    if m and m.group("base") in _TIME_NAMES:
        return m.group("base"), normalize_time_unit(m.group("unit"))
    return name, None


def _is_number(s):
    try:
        float(s)
    except ValueError:
        return False
    return True


def load_text(data, *, where, time_unit=None):
    """Read a long-form CSV/TSV spike table held in memory.

    Parameters
    ----------
    data : bytes
        File content (UTF-8, optional BOM).
    where : str
        Name used in messages.
    time_unit : {'s', 'ms', 'us'} or None
        Unit of the time column; None reads it from the header or detects it.

    Returns
    -------
    Recording

    Raises
    ------
    RecordingCorruptError, NoUnitsError, SpikeTimesError
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordingCorruptError(
            f"{where}: not UTF-8 text (bad byte at offset {exc.start}); save the table as "
            "UTF-8 CSV/TSV"
        ) from exc
    rows = [(k + 1, line) for k, line in enumerate(text.splitlines())
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise NoUnitsError(f"{where}: the table holds no rows; expected one 'unit, time' per spike")
    first = rows[0][1]
    delim = next((d for d in ("\t", ",", ";") if d in first), None)

    def fields(line):
        return [f.strip() for f in (line.split(delim) if delim else line.split())]

    head = fields(first)
    header_unit = None
    col_u, col_t = 0, 1
    notes = []
    header_fields = 0      # a row with fewer fields than its header is malformed
    if len(head) >= 2 and not (_is_number(head[1]) or head[1].lower() == "nan"):
        header_fields = len(head)
        names = [_split_name(h) for h in head]
        ui = [k for k, (n, _) in enumerate(names) if n in _UNIT_NAMES]
        ti = [k for k, (n, _) in enumerate(names) if n in _TIME_NAMES]
        if ui and ti:
            col_u, col_t = ui[0], ti[0]
            header_unit = names[col_t][1]
        else:
            notes.append(f"header {head} names no unit/time column; read column 0 as the unit "
                         "and column 1 as the time")
        rows = rows[1:]
        if not rows:
            raise NoUnitsError(f"{where}: the table has a header but no spike rows")
    ncol = max(col_u, col_t) + 1
    units_s, times_s, lines = [], [], []
    for lineno, line in rows:
        f = fields(line)
        if len(f) < header_fields:
            raise RecordingCorruptError(
                f"{where}, line {lineno}: {len(f)} field(s) where the header has "
                f"{header_fields} ({line.strip()[:60]!r}); every row needs a value in each "
                "column")
        if len(f) < ncol:
            raise RecordingCorruptError(
                f"{where}, line {lineno}: {len(f)} field(s) where {ncol} are needed "
                f"({line.strip()[:60]!r}); every row is 'unit{delim or ' '}time'"
            )
        units_s.append(f[col_u])
        times_s.append(f[col_t])
        lines.append(lineno)
    lines = np.asarray(lines)
    try:
        times = np.asarray(times_s, dtype=np.float64)
    except ValueError:
        k = next(k for k, s in enumerate(times_s) if not _is_number(s))
        raise SpikeTimesError(
            f"{where}, line {lines[k]}: time {times_s[k]!r} is not a number; the time column "
            f"(column {col_t}) must hold numbers"
        ) from None
    _check_rows(times, lines, where)
    ids, inverse = _unit_ids(units_s)
    order = np.argsort(inverse, kind="stable")
    t_sorted, inv_sorted = times[order], inverse[order]
    bad = (np.diff(t_sorted) < 0) & (inv_sorted[1:] == inv_sorted[:-1])
    if bad.any():
        k = int(np.argmax(bad))
        a, b = order[k], order[k + 1]
        raise SpikeTimesError(
            f"{where}, line {lines[b]}: unit {ids[inverse[b]]!r} time {times[b]:g} comes after "
            f"{times[a]:g} (line {lines[a]}); list each unit's spikes in increasing time "
            "(sort the table by unit, then time)"
        )
    bounds = np.searchsorted(inv_sorted, np.arange(len(ids) + 1))
    trains = [t_sorted[bounds[i]:bounds[i + 1]] for i in range(len(ids))]
    given = normalize_time_unit(time_unit)
    unit = given if given is not None else header_unit
    rec = Recording.from_spike_trains(
        trains, time_unit=unit, unit_ids=ids, where=where, warnings=notes,
        provenance={"format": "text", "delimiter": delim or "whitespace",
                    "columns": {"unit": col_u, "time": col_t}},
    )
    if given is None and header_unit is not None:
        rec = rec.with_provenance(time_unit_source=f"header (column {head[col_t]!r})")
    return rec


def _check_rows(times, lines, where):
    """Refuse NaN/infinite/negative times, naming the line."""
    bad = ~np.isfinite(times)
    if bad.any():
        k = int(np.argmax(bad))
        raise SpikeTimesError(
            f"{where}, line {lines[k]}: time is {times[k]}; remove rows with missing times"
        )
    neg = times < 0
    if neg.any():
        k = int(np.argmax(neg))
        raise SpikeTimesError(
            f"{where}, line {lines[k]}: negative time {times[k]:g}; times must be >= 0 from the "
            "start of the recording (shift them or drop the row)"
        )


def _unit_ids(units_s):
    """Return (sorted unique ids as ints or strs, inverse index array)."""
    try:
        as_int = np.asarray([int(u) for u in units_s], dtype=np.int64)
    except ValueError:
        as_int = None
    if as_int is not None:
        uniq, inverse = np.unique(as_int, return_inverse=True)
        return tuple(int(u) for u in uniq), inverse
    uniq, inverse = np.unique(np.asarray(units_s, dtype=str), return_inverse=True)
    if uniq.size == 0:
        raise NoUnitsError("no units")
    return tuple(str(u) for u in uniq), inverse
