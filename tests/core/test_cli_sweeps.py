"""`neurolattice sweep` and `neurolattice flow` (issue 6): contracts, bad input, a real scheduler.

The sweeps run on a real dask LocalCluster started here; one test passes its address to the CLI
in a subprocess and checks, in the scheduler's own transition log, that the CLI's tasks ran there.
"""

import json
import math
import os
import subprocess
import sys

import pytest

pytest.importorskip("distributed")

from neurolattice_core import sweeps as sw  # noqa: E402
from neurolattice_core.cli import main  # noqa: E402
from neurolattice_core.renormalization import chain_decimated_coupling  # noqa: E402
from tests.conftest import REPO  # noqa: E402

SMALL = ["sweep", "--connectivity", "ring", "--neurons", "6", "--ticks", "6", "--J", "0.3:0.6:2",
         "--K", "0.4,0.7", "--sweeps", "100", "--burn-in", "20", "--seed", "5"]
OBSERVABLES = ("abs_magnetization", "binder", "susceptibility", "q_ea")


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as local:
        yield local


@pytest.mark.parametrize("argv, words", [
    (["sweep", "--J", "0.2:0.8"], "START:STOP:COUNT"),
    (["sweep", "--K", "0.2:0.8:0"], "count must be >= 1"),
    (["sweep", "--J", "0.2:x:4"], "--J"),
    (["sweep", "--h", "nan"], "finite"),
    (["sweep", "--connectivity", "moon"], "moon"),
    (["sweep", "--algorithm", "fast"], "algorithm"),
    (["sweep", "--neurons", "0"], "neurons"),
    (["sweep", "--sweeps", "2"], "sweeps"),
    (["sweep", "--scheduler", "tcp://127.0.0.1:9", "--timeout", "1"], "could not be reached"),
    (["sweep", "--scheduler", "no-port-here", "--timeout", "1"], "no-port-here"),
    (["flow", "sample:onken-movie1-exp2", "--bin-ms", "7,10"], "integer multiple"),
    (["flow", "sample:onken-movie1-exp2", "--bin-ms", "5,-10"], "> 0"),
    (["flow", "sample:onken-movie1-exp2", "--subsample", "10,500"], "subset sizes"),
    (["flow", "sample:no-such-sample"], "no-such-sample"),
])
def test_bad_input_is_one_line_and_exit_code_2(capsys, argv, words):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert captured.out == ""


def test_sweep_json_contract_and_out_file(capsys, cluster, tmp_path):
    out = tmp_path / "sweep.json"
    assert main(SMALL + ["--scheduler", cluster.scheduler_address, "--json", "--out",
                         str(out)]) == 0
    captured = capsys.readouterr()
    records = json.loads(captured.out)  # stdout holds the JSON and nothing else
    assert json.loads(out.read_text()) == records
    assert "sweep 4 points" in captured.err and "4/4" in captured.err  # the bar is on stderr
    assert [(r["J"], r["K"]) for r in records] == [(0.3, 0.4), (0.3, 0.7), (0.6, 0.4),
                                                   (0.6, 0.7)]
    for r in records:
        assert r["status"] == "ok" and r["neurons"] == 6 and r["sweeps"] == 100
        for key in OBSERVABLES:
            assert math.isfinite(r[key]) and r[key + "_err"] > 0
        assert 0 <= r["abs_magnetization"] <= 1 and r["q_ea"] <= 1
    # the same sweep without --json prints a table; quiet: no bar
    assert main(SMALL + ["--scheduler", cluster.scheduler_address, "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "sweep 4 points" not in captured.err and len(captured.out.splitlines()) == 5


def test_sweep_uses_the_given_scheduler(cluster, tmp_path):
    """The CLI in another process sends its tasks to this scheduler (no cluster of its own)."""
    from distributed import Client

    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    env.pop(sw.SCHEDULER_ENV, None)
    argv = SMALL[:-1] + ["11", "--scheduler", cluster.scheduler_address, "--json"]
    run = subprocess.run([sys.executable, "-m", "neurolattice_core.cli", *argv], cwd=REPO,
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    records = json.loads(run.stdout)
    assert all(r["status"] == "ok" for r in records)
    with Client(cluster.scheduler_address) as client:
        seen = client.run_on_scheduler(
            lambda dask_scheduler: sorted({str(t[0]) for t in dask_scheduler.transition_log
                                           if str(t[0]).startswith("nl-point-")}))
    assert {f"nl-point-{r['key']}" for r in records} <= set(seen)
    assert "Scheduler at" not in run.stderr  # no LocalCluster was started by the CLI


def test_sweep_reads_the_scheduler_from_the_environment(capsys, cluster, monkeypatch):
    monkeypatch.setenv(sw.SCHEDULER_ENV, cluster.scheduler_address)
    calls = []
    real = sw.open_client

    def spy(scheduler=None, workers=None, timeout=10.0):
        calls.append(scheduler if isinstance(scheduler, str) else "client")
        return real(scheduler, workers, timeout)

    monkeypatch.setattr(sw, "open_client", spy)
    assert main(SMALL + ["--json", "--quiet", "--seed", "12"]) == 0
    assert calls[0] == cluster.scheduler_address
    assert len(json.loads(capsys.readouterr().out)) == 4
    monkeypatch.setenv(sw.SCHEDULER_ENV, "tcp://127.0.0.1:9")
    assert main(SMALL + ["--json", "--timeout", "1"]) == 2
    assert "could not be reached" in capsys.readouterr().err


def test_flow_json_contract_on_a_shipped_sample(capsys):
    assert main(["flow", "sample:onken-movie1-exp2", "--bin-ms", "10,20,40", "--subsample",
                 "10,20", "--draws", "2", "--json"]) == 0
    flow = json.loads(capsys.readouterr().out)
    assert flow["base_bin_ms"] == 10 and flow["model"] == "lft"
    time_flow = flow["time"]
    assert [e["factor"] for e in time_flow] == [1, 2, 4]
    assert [e["bin_s"] for e in time_flow] == pytest.approx([0.01, 0.02, 0.04])
    k0 = time_flow[0]["mean_K"]
    for e in time_flow:
        assert e["n_units"] == 49 and e["mean_J_err"] > 0 and e["mean_K_err"] > 0
        assert e["K_chain"] == pytest.approx(chain_decimated_coupling(k0, e["factor"]))
        point = e["phase_point"]
        assert point["J"] == pytest.approx(49 * e["mean_J"])
        assert point["J_err"] == pytest.approx(49 * e["mean_J_err"])
        assert point["K"] == e["mean_K"] and point["connectivity"] == "all-to-all"
    neurons = flow["neurons"]
    assert [e["n"] for e in neurons] == [10, 20] and all(len(e["draws"]) == 2 for e in neurons)
    assert all(len(d["subset"]) == e["n"] for e in neurons for d in e["draws"])
    # the units each fit kept are numbered as in the file, so they lie in the subset
    assert all(set(d["units"]) <= set(d["subset"]) for e in neurons for d in e["draws"])


def test_flow_leaves_out_the_dropped_units(capsys):
    assert main(["flow", "sample:onken-movie1-exp2", "--bin-ms", "20,40", "--drop", "0",
                 "--drop", "46", "--subsample", "47", "--draws", "1", "--json"]) == 0
    flow = json.loads(capsys.readouterr().out)
    assert [e["n_units"] for e in flow["time"]] == [47, 47]
    # the only subset of 47 among the 47 kept units is all of them, numbered as in the file
    kept = [p for p in range(49) if p not in (0, 46)]
    draw = flow["neurons"][0]["draws"][0]
    assert draw["subset"] == kept and set(draw["units"]) <= set(kept)


@pytest.mark.parametrize("argv, words", [
    (["flow", "sample:onken-movie1-exp2", "--bin-ms", "40", "--drop", "49"],
     "--drop 49: no unit at that position"),
    (["flow", "sample:onken-movie1-exp2", "--bin-ms", "40", "--drop", "3", "--subsample",
      "49"], "N = 48 (the units of sample:onken-movie1-exp2, 1 left out by --drop)"),
    (["flow", "sample:onken-movie1-exp2", "--bin-ms", "40"] + [f"--drop={p}" for p in
                                                              range(48)],
     "--drop leaves 1 of the 49 units of sample:onken-movie1-exp2; a fit needs at least 2"),
    (["sweep", "--seed", "-1"], "--seed -1"),
    (["sweep", "--J", "1:2:1000000000000"], "--J '1:2:1000000000000': 1000000000000 values"),
    (["sweep", "--J", "0.1:1:200", "--K", "0.1:1:200"], "200 x 200 x 1 = 40000 points"),
    (["sweep", "--algorithm", "cluster", "--J=-1,1"], "cluster algorithm needs"),
    (["sweep", "--timeout", "nan"], "--timeout must be > 0"),
    (["sweep", "--out", "/nonexistent/dir/x.json"], "/nonexistent/dir does not exist"),
    (["sweep", "--cache", "/proc/forbidden"], "--cache /proc/forbidden"),
    (["sweep", "--replicas", "1"], "--replicas"),
    (["flow", "sample:onken-movie1-exp2", "--bin-ms", "40", "--seed", "-1", "--subsample",
      "10"], "--seed -1"),
    (["flow", "sample:onken-movie1-exp2", "--bin-ms", "40", "--subsample", "10", "--draws",
      "0"], "--draws 0"),
    (["flow", "sample:onken-movie1-exp2", "--bin-ms", "40", "--subsample", "10",
      "--subsample-bin-ms", "0"], "--subsample-bin-ms 0"),
    (["flow", "sample:onken-movie1-exp2", "--bin-ms", "40", "--draws", "3"],
     "--draws only applies to the flow over neurons: add --subsample SIZES"),
    (["flow", "sample:onken-movie1-exp2", "--bin-ms", "40", "--subsample-bin-ms", "10",
      "--draws", "3"], "--subsample-bin-ms and --draws only apply to the flow over neurons"),
    (["flow", "sample:onken-movie1-exp2", "--bin-ms", "40", "--model", "maxent", "--diagram",
      "ring"], "--diagram ring only applies to --model lft"),
])
def test_reviewed_bad_input_is_refused_up_front(capsys, monkeypatch, argv, words):
    from neurolattice_core import renormalization

    def no_fits(*args, **kwargs):
        raise AssertionError("the input should have been refused before any fit")

    monkeypatch.setattr(renormalization, "flow_in_time", no_fits)
    monkeypatch.setattr(sw, "run_sweep", no_fits)
    test_bad_input_is_one_line_and_exit_code_2(capsys, argv, words)


def test_sweep_cache_that_is_a_file_is_refused(capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    test_bad_input_is_one_line_and_exit_code_2(capsys, ["sweep", "--cache", str(afile)],
                                               "is a file")


def test_sweep_exit_code_is_1_when_points_fail(capsys, monkeypatch):
    def one_fails(connectivity, neurons, ticks, J, K, **options):
        points = sw.sweep_points(connectivity, neurons, ticks, J, K, sweeps=options["sweeps"],
                                 burn_in=options["burn_in"], seed=options["seed"])
        return [{**p, "key": str(i), "cached": False, "status": "failed", "error": "boom"}
                if i == 0 else {**p, "key": str(i), "cached": False, "status": "ok"}
                for i, p in enumerate(points)]

    monkeypatch.setattr(sw, "run_sweep", one_fails)
    assert main(SMALL + ["--json", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 4
    assert "1 of 4 points" in captured.err and "boom" in captured.err


def test_ctrl_c_stops_a_sweep_with_one_line_and_keeps_the_finished_points(tmp_path):
    """Ctrl-C reaches the whole foreground process group, Dask's worker processes included."""
    import signal
    import time

    cache = tmp_path / "cache"
    argv = [sys.executable, "-m", "neurolattice_core.cli", "sweep", "--connectivity", "ring",
            "--neurons", "16", "--ticks", "16", "--J", "0.2:0.8:12", "--K", "0.2:0.8:12",
            "--sweeps", "4000", "--workers", "2", "--cache", str(cache)]
    def own_group_with_ctrl_c():   # a shell's background job (CI) starts with SIGINT ignored
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    run = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           preexec_fn=own_group_with_ctrl_c)
    seen, deadline = b"", time.monotonic() + 240
    while b"] 3/" not in seen and run.poll() is None and time.monotonic() < deadline:
        seen += os.read(run.stderr.fileno(), 4096)
    assert b"] 3/" in seen, seen.decode(errors="replace")       # three points done
    os.killpg(run.pid, signal.SIGINT)                            # as a terminal's Ctrl-C does
    rest = run.communicate(timeout=120)[1]
    stderr = (seen + rest).decode(errors="replace")
    assert run.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert " INFO " not in stderr, stderr          # Dask's start-up log stays quiet
    assert stderr.rstrip().endswith("neurolattice sweep: interrupted")
    assert len(list(cache.glob("*.json"))) >= 3


def _sigint_handling(_):
    """The SIGINT handler of the process this runs in (a forked worker), as text."""
    import signal

    return str(signal.getsignal(signal.SIGINT))


def test_processes_forked_for_a_sweep_ignore_ctrl_c_from_their_start():
    """Workers forked by the fork server ignore SIGINT before any of their code runs.

    Spawned workers began with Python's KeyboardInterrupt handler, and a Ctrl-C in the moment
    before their preload ignored it printed a traceback from each of them.
    """
    import multiprocessing
    import signal
    from multiprocessing import forkserver

    import dask

    forkserver._forkserver._stop()   # one started by an earlier test would decide the result
    before = signal.signal(signal.SIGINT, signal.default_int_handler)   # as in a terminal
    try:
        with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
            sw._start_fork_server_ignoring_ctrl_c()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # set back
        with multiprocessing.get_context("forkserver").Pool(1) as pool:
            assert pool.apply(_sigint_handling, (0,)) == str(signal.SIG_IGN)
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_local_cluster_keeps_dasks_info_lines_out_of_an_existing_log(caplog):
    """A server's log (root handler set up before distributed was imported) got them all."""
    import logging

    caplog.set_level(logging.INFO)
    client, owned = sw.open_client(workers=1)
    try:
        assert owned and client.submit(sum, [1, 2]).result() == 3
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    noisy = [r.getMessage() for r in caplog.records
             if r.name.startswith("distributed") and r.levelno < logging.ERROR]
    assert noisy == []
