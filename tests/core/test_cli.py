import json
import subprocess
import sys

import numpy as np
import pytest

from neurolattice_core.cli import main

SIMULATE_KEYS = {"energy_per_site", "energy_per_site_err", "abs_magnetization",
                 "abs_magnetization_err", "specific_heat", "susceptibility", "binder",
                 "tau_int_energy", "temporal_correlation", "spatial_correlation", "sweeps",
                 "flips_per_ns", "seed"}


def run_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_simulate_json_contract(capsys):
    result = run_json(capsys, "simulate", "--neurons", "16", "--ticks", "128", "--sweeps", "200",
                      "--burn-in", "50", "--seed", "4", "--json")
    assert SIMULATE_KEYS <= result.keys()
    assert len(result["temporal_correlation"]) == 128 // 2 + 1
    assert len(result["spatial_correlation"]) == 16 // 2 + 1
    # C(0) = 1 - (time-mean spin)^2 averaged over neurons: below 1 when the run is magnetised
    c_tau = np.array(result["temporal_correlation"])
    assert 0.0 < c_tau[0] <= 1.0 and np.all(np.abs(c_tau) <= c_tau[0] + 1e-12)
    assert result["sweeps"] == 200 and result["seed"] == 4 and result["flips_per_ns"] > 0
    assert -2.0 <= result["energy_per_site"] <= 0.0 and result["energy_per_site_err"] > 0


def test_simulate_same_seed_same_numbers(capsys):
    argv = ["simulate", "--connectivity", "all-to-all", "--neurons", "12", "--ticks", "10",
            "--sweeps", "100", "--burn-in", "10", "--seed", "7", "--temperature", "1.5", "--json"]
    a, b = run_json(capsys, *argv), run_json(capsys, *argv)
    for key in ("energy_per_site", "abs_magnetization", "binder", "temporal_correlation"):
        assert a[key] == b[key]
    assert a["spatial_correlation"] == []


@pytest.mark.parametrize("argv, words", [
    (["simulate", "--temperature", "0"], "temperature"),
    (["simulate", "--temperature", "nan"], "temperature"),
    (["simulate", "--neurons", "-4"], "neurons"),
    (["simulate", "--connectivity", "grid", "--neurons", "10", "--grid", "3x3"], "grid shape"),
    (["simulate", "--neurons", "200000", "--ticks", "200000"], "GiB"),
    (["simulate", "--threads", "99"], "threads"),
    (["simulate", "--algorithm", "cluster", "--connectivity", "sk"], "ferromagnetic"),
])
def test_bad_input_is_one_line_and_exit_code_2(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_console_script_exit_code_and_no_traceback():
    run = subprocess.run([sys.executable, "-m", "neurolattice_core.cli", "simulate",
                          "--temperature", "-1"], capture_output=True, text=True)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "temperature" in run.stderr
    usage = subprocess.run([sys.executable, "-m", "neurolattice_core.cli", "simulate",
                            "--connectivity", "moon"], capture_output=True, text=True)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_bench_json_records(capsys, monkeypatch):
    from neurolattice_core import benchmark
    monkeypatch.setattr(benchmark, "SIZES", ((128, 128),))
    records = run_json(capsys, "bench", "--seconds", "0.05", "--json")
    assert {(r["path"], r["connectivity"]) for r in records} == {
        ("fast", "ring"), ("general", "ring"), ("general", "all-to-all")}
    for record in records:
        expected = {"path", "connectivity", "neurons", "ticks", "threads", "flips_per_ns"}
        assert expected <= set(record)
        assert record["flips_per_ns"] > 0


def test_bench_times_at_least_one_call_however_short_the_time(capsys, monkeypatch):
    from neurolattice_core import benchmark
    monkeypatch.setattr(benchmark, "SIZES", ((128, 128),))
    monkeypatch.setattr(benchmark, "CASES", (("fast", "ring"),))
    records = run_json(capsys, "bench", "--seconds", "1e-9", "--json")
    assert records and all(r["sweeps"] >= 1 and r["flips_per_ns"] > 0 for r in records)


INSPECT_KEYS = {"units", "trials", "duration_s", "bin_ms", "ticks", "rates_hz",
                "spike_prob_per_bin", "multi_spike_fraction", "mean_correlation",
                "near_duplicate_pairs", "warnings"}


def test_inspect_json_contract_on_a_shipped_sample(capsys):
    report = run_json(capsys, "inspect", "sample:onken-movie1-exp1", "--bin-ms", "20", "--json")
    assert INSPECT_KEYS <= report.keys()
    assert (report["units"], report["trials"], report["ticks"]) == (38, 30, 900)
    assert len(report["rates_hz"]) == 38 and len(report["spike_prob_per_bin"]) == 38
    pairs = {(i, j) for i, j, _ in report["near_duplicate_pairs"]}
    assert {(26, 30), (24, 27)} <= pairs  # the split clusters named in shared/data/README.md


@pytest.mark.parametrize("argv, words", [
    (["inspect", "/nonexistent/file.mat"], "no such file"),
    (["inspect", "sample:no-such-sample"], "no shipped sample"),
    (["inspect", "sample:onken-movie1-exp1", "--bin-ms", "100000"], "bin"),
    (["fit", "/nonexistent/file.nwb"], "no such file"),
])
def test_recording_commands_reject_bad_input_with_exit_code_2(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err.lower() and "Traceback" not in err


def test_fit_json_contract_and_model_file_round_trip(capsys, tmp_path):
    out = tmp_path / "fit.json"
    record = run_json(capsys, "fit", "sample:maxent-example15-spatiotemporal", "--model", "lft",
                      "--method", "pl", "--json", "--out", str(out))
    for key in ("model", "method", "n_units", "n_samples", "seconds", "h", "J", "K",
                "validation"):
        assert key in record
    assert record["n_units"] == 15 and len(record["J"]) == 15 and len(record["J"][0]) == 15
    for key in ("rate_corr", "corr_corr", "lag1_corr", "pk_w1", "heldout_pll"):
        assert key in record["validation"]
    simulated = run_json(capsys, "simulate", "--model-file", str(out), "--ticks", "64",
                         "--sweeps", "40", "--burn-in", "10", "--json")
    assert simulated["path"] == "local" and simulated["sweeps"] == 40


# --- review of the command line: bad input is one line and exit code 2, JSON is valid JSON ---

@pytest.fixture
def fit_file(tmp_path):
    """A tiny lft fit with a drive u_t, in the format written by 'neurolattice fit --out'."""
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({
        "format": "neurolattice-fit", "version": 1, "model": "lft", "method": "pl",
        "n_units": 2, "n_samples": 40, "n_ticks": 4, "h": [-0.5, -0.4],
        "J": [[0.0, 0.2], [0.2, 0.0]], "K": [0.3, 0.3], "u": [0.1, -0.1, 0.2, 0.0]}))
    return path


def one_line_error(capsys, argv, words):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, err
    assert captured.out == ""
    return err


@pytest.mark.parametrize("argv, words", [
    (["simulate", "--neurons", "8", "--ticks", "8", "--sweeps", "1000000000000"],
     ["--sweeps 1000000000000", "GiB", "at most --sweeps"]),
    (["simulate", "--ticks", "0"], ["--ticks", ">= 1"]),
    (["simulate", "--neurons", "8", "--ticks", "8", "--sweeps", "3"], ["--sweeps", ">= 4"]),
    (["simulate", "--neurons", "8", "--ticks", "8", "--sweeps", "0"], ["--sweeps", ">= 4"]),
    (["simulate", "--neurons", "abc"],
     ["neurolattice simulate: error: argument --neurons: invalid int value: 'abc'",
      "(see neurolattice simulate --help)"]),
    (["simulate", "--connectivity", "foo"], ["neurolattice simulate: error:", "'foo'"]),
    (["simulate", "--grid", "4by4"], ["neurolattice simulate: error:", "--grid", "4by4"]),
    (["simulate", "--threads", "0"], ["neurolattice simulate: error: argument --threads"]),
    (["simulate", "--neurons", "9", "--ticks", "8", "--grid", "3x3", "--sweeps", "10"],
     ["--grid 3x3", "--connectivity grid"]),
    (["serve", "--port", "99999"], ["--port", "65535"]),
    (["serve", "--port", "-1"], ["--port", ">= 1"]),
    (["serve", "--address", "999.1.1.1"], ["--address 999.1.1.1"]),
    (["fit", "sample:maxent-example15-spatiotemporal", "--drop", "100"],
     ["--drop 100", "15 units", "0 to 14"]),
    (["fit", "sample:maxent-example15-spatiotemporal", "--bin-ms", "-5"],
     ["--bin-ms -5", "milliseconds"]),
    (["fit", "sample:maxent-example15-spatiotemporal", "--out", "/nonexistent/dir/fit.json"],
     ["--out /nonexistent/dir/fit.json", "/nonexistent/dir does not exist"]),
    (["fit", "sample:maxent-example15-spatiotemporal", "--out", "/tmp"],
     ["--out /tmp: is a folder"]),
    (["fit", "sample:maxent-example15-spatiotemporal"] + [f"--drop={p}" for p in range(14)],
     ["--drop leaves 1 of the 15 units", "at least 2"]),
    (["simulate", "--neurons", "0"], ["simulate: error: --neurons must be at least 1, not 0"]),
    (["simulate", "--temperature", "0"], ["error: --temperature must be greater than 0"]),
    (["fit", "sample:maxent-example15-spatiotemporal", "--holdout", "2"],
     ["error: --holdout must be 0 or in [0.05, 0.5]"]),
    (["simulate", "--algorithm", "cluster", "--J=-1", "--sweeps", "10"],
     ["ferromagnetic", "use --algorithm heatbath or metropolis"]),
    (["bench", "--seconds", "inf"], ["--seconds", "at most 60"]),
    (["bench", "--seconds", "nan"], ["--seconds", "more than 0"]),
    (["bench", "--seconds", "0"], ["--seconds", "more than 0"]),
    (["simulate", "--connectivity", "sk", "--J", "5"],
     ["--J does not apply to --connectivity sk", "set them with --sk-J0 and --sk-spread"]),
    (["simulate", "--sk-spread", "2"], ["--sk-spread does not apply to --connectivity ring"]),
    (["simulate", "--connectivity", "sk", "--hopfield-patterns", "2"],
     ["--hopfield-patterns does not apply to --connectivity sk (only to hopfield)"]),
    (["simulate", "--connectivity", "grid", "--neurons", "8", "--grid", "0x4"],
     ["--grid: the number of rows must be at least 1"]),
    (["fit", "sample:maxent-example15-spatiotemporal", "--drive", "on", "--method", "mf"],
     ["use method 'pl' or 'bm' with --drive on"]),
    (["inspect", "sample:maxent-example15-spatiotemporal", "--bin-ms", "inf"],
     ["--bin-ms must be a finite number of milliseconds > 0; got inf"]),
    (["fit", "sample:onken-movie1-exp2", "--model", "kinetic", "--method", "bm"],
     ["--method bm does not apply to the kinetic model", "--method pl gives that fit"]),
])
def test_reviewed_bad_input_is_one_line_and_exit_code_2(capsys, argv, words):
    one_line_error(capsys, argv, words)


def test_a_huge_temperature_runs_and_prints_valid_json(capsys):
    """theta = 1e300 overflowed theta**2 in the specific heat (a traceback); it now runs."""
    assert main(["simulate", "--neurons", "16", "--ticks", "16", "--temperature=1e300",
                 "--sweeps", "10", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["specific_heat"] == 0.0 and result["temperature"] == 1e300
    assert (result["algorithm"], result["rule"]) == ("auto", "heat bath")   # J/θ = 1e-300


def test_serve_refuses_a_port_in_use(capsys):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        one_line_error(capsys, ["serve", "--address", "127.0.0.1", "--port", str(port)],
                       [f"--port {port}", "in use"])


@pytest.mark.parametrize("option", [["--J", "2"], ["--neurons", "4"], ["--temperature", "1"],
                                    ["--connectivity", "sk"], ["--h", "0.1"]])
def test_model_file_refuses_options_it_would_ignore(capsys, fit_file, option):
    one_line_error(capsys, ["simulate", "--model-file", str(fit_file), *option],
                   ["--model-file", option[0]])


def test_model_file_with_huge_ticks_is_refused_before_allocating(capsys, fit_file):
    one_line_error(capsys, ["simulate", "--model-file", str(fit_file), "--ticks",
                            "1000000000000"], ["GiB"])


def test_model_file_with_a_drive_runs(capsys, fit_file):
    result = run_json(capsys, "simulate", "--model-file", str(fit_file), "--ticks", "6",
                      "--sweeps", "8", "--burn-in", "2", "--json")
    assert result["sweeps"] == 8


def test_simulate_json_is_valid_json_and_warnings_are_not_raw(capsys, monkeypatch):
    import warnings

    from neurolattice_core import simulation

    real = simulation.run_simulation

    def overflowing(*args, **kwargs):
        result = real(*args, **kwargs)
        warnings.warn("overflow encountered in cast", RuntimeWarning, stacklevel=1)
        result.update(specific_heat=float("nan"), susceptibility=float("inf"),
                      temporal_correlation=[1.0, float("-inf")])
        return result

    monkeypatch.setattr(simulation, "run_simulation", overflowing)
    argv = ["simulate", "--neurons", "4", "--ticks", "4", "--sweeps", "8", "--burn-in", "2"]
    assert main(argv + ["--json"]) == 0
    captured = capsys.readouterr()

    def refuse(token):
        raise AssertionError(f"{token} is not JSON")

    result = json.loads(captured.out, parse_constant=refuse)
    assert result["specific_heat"] is None and result["susceptibility"] is None
    assert result["temporal_correlation"] == [1.0, None]
    assert any("overflow encountered in cast" in w for w in result["warnings"])
    assert "RuntimeWarning" not in captured.err
    assert main(argv) == 0  # the table prints too, with nan and the warning
    out = capsys.readouterr().out
    assert "specific_heat: nan" in out and "overflow encountered in cast" in out


def test_library_names_in_errors_become_cli_options(capsys, monkeypatch):
    from neurolattice_core.errors import FitError
    from neurolattice_core.fitting import api

    def silent_units(*args, **kwargs):
        raise FitError("units [3] never spike or spike in every bin of the recorded data, so "
                       "their fields are infinite: drop them (drop_units=[...]) or pass "
                       "drop_inactive=True")

    monkeypatch.setattr(api, "fit", silent_units)
    err = one_line_error(capsys, ["fit", "sample:maxent-example15-spatiotemporal"], ["--drop"])
    assert "drop_units" not in err and "drop_inactive" not in err


def test_cli_words():
    from neurolattice_core.cli import cli_words

    assert cli_words("consider method='bm' or more data") == "consider --method bm or more data"
    assert "time_unit='ms'" not in cli_words("pass time_unit='ms' (or the unit)").split("(")[0]
    assert cli_words("near duplicates; consider dropping one (drop_units)").endswith(
        "(--drop POSITION)")


def test_a_single_unit_file_is_refused_without_mentioning_drop(capsys, tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("unit,time\n1,0.1\n1,0.3\n")
    err = one_line_error(capsys, ["fit", str(one)], ["has 1 unit; a fit of couplings needs"])
    assert "--drop" not in err


def test_negative_numbers_in_exponent_form_are_option_values():
    from neurolattice_core.cli import join_negative_values

    assert join_negative_values(["simulate", "--J", "-1e-3", "--h", "-.5", "--K", "2"]) == [
        "simulate", "--J=-1e-3", "--h=-.5", "--K", "2"]
    assert join_negative_values(["fit", "x.csv", "--json"]) == ["fit", "x.csv", "--json"]


def test_the_sk_mean_coupling_option_reaches_the_model(capsys):
    """J0 = 3 at theta = 0.5 is deep in the SK ferromagnetic phase (|m| near 1); J0 = 0 the
    glass (|m| ~ 0).

    On one tick: on 32 ticks a run from a random start keeps domains of opposite magnetisation
    along time for thousands of sweeps, and |m| at J0 = 1.5 ranged from 0.03 to 0.88 over seeds
    0-7 (0.11 to 0.88 with the keyed-hash uniforms of CPUs without AES). On one tick, seeds 0-7
    gave |m| 0.98-0.999 at J0 = 3 and 0.05-0.21 at J0 = 0 with either.
    """
    magnetisation = []
    for j0 in ("0", "3"):
        result = run_json(capsys, "simulate", "--connectivity", "sk", "--neurons", "32",
                          "--ticks", "1", "--sweeps", "200", "--temperature", "0.5",
                          "--sk-J0", j0, "--json")
        magnetisation.append(result["abs_magnetization"])
    assert magnetisation[0] < 0.3 < 0.9 < magnetisation[1]



def test_simulate_reports_the_grid_shape_it_chose(capsys):
    result = run_json(capsys, "simulate", "--connectivity", "grid", "--neurons", "12", "--ticks",
                      "128", "--sweeps", "20", "--json")
    assert result["grid_shape"] == [3, 4]
    assert "grid_shape" not in run_json(capsys, "simulate", "--neurons", "8", "--ticks", "128",
                                        "--sweeps", "20", "--json")


def _two_spike_variables(path):
    """A MATLAB file with the same spikes twice: in ms and in s (two candidate variables)."""
    import scipy.io

    in_ms, in_s = np.empty((2, 1), dtype=object), np.empty((2, 1), dtype=object)
    for k, times in enumerate(([100.0, 250.0, 900.0], [50.0, 400.0, 700.0])):
        in_ms[k, 0] = np.array(times)
        in_s[k, 0] = np.array(times) / 1000
    scipy.io.savemat(path, {"spikes_ms": in_ms, "spikes_s": in_s})
    return str(path)


def test_loader_options_choose_the_variable_and_the_time_unit(capsys, tmp_path):
    mat = _two_spike_variables(tmp_path / "two.mat")
    one_line_error(capsys, ["inspect", mat], ["several candidate variables",
                                               "choose one with --variable NAME"])
    as_ms = run_json(capsys, "inspect", mat, "--variable", "spikes_ms", "--time-unit", "ms",
                     "--bin-ms", "100", "--json")
    as_s = run_json(capsys, "inspect", mat, "--variable", "spikes_s", "--bin-ms", "100",
                    "--json")
    assert as_ms["time_unit"] == "ms" and as_s["time_unit"] == "s"
    assert as_ms["duration_s"] == as_s["duration_s"] == pytest.approx(0.9)
    one_line_error(capsys, ["inspect", mat, "--variable", "spikes_s", "--trial-duration", "1"],
                   ["--trial-duration applies to a units x trials cell array",
                    "one timeline without trials"])


def test_a_loader_option_the_format_ignores_is_refused_in_cli_words(capsys, tmp_path):
    one = tmp_path / "spikes.csv"
    one.write_text("unit,time\n1,0.1\n2,0.3\n")
    one_line_error(capsys, ["inspect", str(one), "--variable", "x"],
                   ["--variable does not apply to text files"])


def test_a_raster_is_read_at_its_own_bin_width_unless_told_otherwise(capsys, tmp_path):
    """A 10 ms raster was re-binned to 20 ms by the default --bin-ms, without a word."""
    raster = (np.random.default_rng(0).random((5, 6, 300)) < 0.1).astype(np.uint8)
    path = tmp_path / "raster10.npz"
    np.savez(path, raster=raster, bin_width_s=0.01)
    native = run_json(capsys, "inspect", str(path), "--json")
    assert (native["bin_ms"], native["ticks"]) == (10.0, 300)
    merged = run_json(capsys, "inspect", str(path), "--bin-ms", "20", "--json")
    assert (merged["bin_ms"], merged["ticks"]) == (20.0, 150)
    fitted = run_json(capsys, "fit", str(path), "--model", "maxent", "--holdout", "0", "--json")
    assert fitted["bin_ms"] == 10.0 and fitted["n_ticks"] == 300


def _numba_wrapped_ctrl_c(args):
    """What Numba raises when Ctrl-C comes while it loads a cached kernel."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as interrupt:
        raise SystemError("CPUDispatcher(<function _sweeps_measured>) returned a result with "
                          "an exception set") from interrupt


def test_ctrl_c_while_numba_loads_a_kernel_is_one_line_and_exit_130(capsys, monkeypatch):
    from neurolattice_core import cli

    monkeypatch.setattr(cli, "_simulate", _numba_wrapped_ctrl_c)
    assert main(["simulate", "--neurons", "8", "--ticks", "8"]) == 130
    assert capsys.readouterr().err == "neurolattice simulate: interrupted\n"


def test_a_system_error_that_is_not_ctrl_c_is_not_taken_for_one(monkeypatch):
    from neurolattice_core import cli

    def broken(args):
        raise SystemError("a real bug")

    monkeypatch.setattr(cli, "_simulate", broken)
    with pytest.raises(SystemError, match="a real bug"):
        main(["simulate", "--neurons", "8", "--ticks", "8"])


def test_ctrl_c_while_the_commands_load_is_one_line_and_exit_130(capsys, monkeypatch):
    from neurolattice_core import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["simulate"]) == 130
    assert capsys.readouterr().err == "neurolattice: interrupted\n"
