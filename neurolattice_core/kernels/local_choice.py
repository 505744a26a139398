"""Timed choice between the serial and the parallel driver of :class:`.local.LocalState`."""

_EXPLORE_EVERY = 16   # calls between two timings of the driver that looked slower ...
_EXPLORE_MAX = 256    # ... doubling up to this while each timing confirms the choice
EXPLORE_SHARE = 4     # such a timing takes a quarter of the call's sweeps ...
EXPLORE_MIN_SECONDS = 2e-3   # ... if they last this long (a parallel region starts in ~40 us)


class DriverChoice:
    """Parallel or serial driver for one kind of call, by the time per site each one took.

    Calls of a few sweeps (a sampler measuring after every sweep) and longer calls are timed
    apart: waking the threads, 0.1-0.3 ms on a virtual machine, can outweigh a short call's
    parallel gain and not a long one's.
    """

    def __init__(self):
        self.seconds_per_site = {False: None, True: None}   # by driver (parallel?), smoothed
        self._warm = {False: False, True: False}   # first call of a driver (loading) untimed
        self._explore_every = _EXPLORE_EVERY    # calls between timings of the slower driver
        self._since_explored = 0
        self._choice_explored = None             # the faster driver at the last such timing
        self.exploring = False    # the last choice was the slower driver, to time it again

    def choose(self):
        """Parallel (True) or serial (False): untimed drivers first, then the faster one.

        The slower driver is timed again every ``_explore_every``-th call. That interval
        doubles (up to ``_EXPLORE_MAX``) each time the faster driver is the same as at the
        previous such timing, and falls back to ``_EXPLORE_EVERY`` when it changed: a clear
        choice costs little, and a change of the machine's load is still followed.
        """
        rates = self.seconds_per_site
        self.exploring = False
        if rates[True] is None or rates[False] is None:
            return rates[True] is None
        faster = rates[True] < rates[False]
        self._since_explored += 1
        if self._since_explored < self._explore_every:
            return faster
        self._since_explored = 0
        confirmed = faster == self._choice_explored
        self._explore_every = min(2 * self._explore_every, _EXPLORE_MAX) if confirmed \
            else _EXPLORE_EVERY
        self._choice_explored = faster
        self.exploring = True
        return not faster

    def explored_sweeps(self, parallel, n_sweeps, sites_per_sweep):
        """Sweeps of a call of ``n_sweeps`` to run on the explored driver (``parallel``).

        A quarter of them (rounded up) when they are expected to last EXPLORE_MIN_SECONDS,
        long enough that starting a parallel region does not bias the timing; else all.
        """
        share = -(-n_sweeps // EXPLORE_SHARE)
        expected = share * sites_per_sweep * self.seconds_per_site[parallel]
        return share if expected >= EXPLORE_MIN_SECONDS else n_sweeps

    def record(self, parallel, seconds):
        """Take the ``seconds`` per site of a call of the ``parallel`` (True) or serial driver.

        A faster timing is taken at once (the first ones pay for waking the threads), a slower
        one half-way (the choice follows a change of the machine's load); a driver's first
        call (loading its code) is not counted.
        """
        old = self.seconds_per_site[parallel]
        if self._warm[parallel]:
            self.seconds_per_site[parallel] = (seconds if old is None else
                                               min(seconds, 0.5 * (old + seconds)))
        self._warm[parallel] = True
