import json
import subprocess
import sys

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
    assert result["temporal_correlation"][0] == pytest.approx(1.0, abs=0.05)
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
