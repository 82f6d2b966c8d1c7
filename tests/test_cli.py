"""The `physnn` command, run as `python -m physnn ...` in a subprocess on small CSV files.

Bad input of every kind must give exit status 2 and exactly one line on stderr, never a traceback. The
tour's report is opened in headless Chromium (skipped when /usr/bin/chromium is absent) and every image on
the page must load. Failure handling of the tour (one failing experiment) runs in-process with experiments
registered by the test.
"""

import csv
import html
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import physnn.sequences
from physnn import cli
from physnn.experiments import registry
from physnn.experiments.registry import Result

CHROMIUM = Path("/usr/bin/chromium")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_cli(*args, cwd=None, timeout=300):
    """`python -m physnn *args` -> CompletedProcess (text), with a wide non-interactive terminal."""
    env = {**os.environ, "COLUMNS": "160", "PYTHONWARNINGS": "ignore"}
    env.pop("PHYSNN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "physnn", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def main_exit_code(argv) -> int:
    """Run `physnn argv` in this process; its exit status."""
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    return stop.value.code


def write_csv(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_data")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    write_csv(d / "good.csv", ["a", "b", "y"], [[*row, 2 * row[0] - row[1]] for row in x])
    write_csv(d / "text.csv", ["a", "y"], [[1, 2], [3, "abc"], [5, 6]] + [[i, i] for i in range(20)])
    write_csv(d / "short.csv", ["a", "y"], [[i, i] for i in range(5)])
    write_csv(d / "series.csv", ["t", "s"], [[i, np.sin(0.3 * i)] for i in range(12)])
    (d / "empty.csv").write_text("")
    (d / "ragged.csv").write_text("a,b\n1,2\n3\n")
    (d / "a_file").write_text("not a directory")
    x = rng.uniform(-2, 2, size=(60, 2))
    write_csv(d / "lin.csv", ["x1", "x2", "target"], [[*row, 3 * row[0] - row[1] + 5] for row in x])
    write_csv(d / "blobs.csv", ["u", "v", "label"],
              [[*rng.normal(loc=(2, 2) if i % 2 else (-2, -2), size=2), "up" if i % 2 else "down"]
               for i in range(80)])
    write_csv(d / "wave.csv", ["t", "signal"], [[i, np.sin(0.3 * i)] for i in range(60)])
    return d


# --- the subprocess runs, two at a time -----------------------------------------------------------------

HAS_EXTRAPOLATE = hasattr(physnn.sequences, "extrapolate")


def _jobs(d):
    """name -> arguments of every `python -m physnn` run of this module (all run from the data folder)."""
    jobs = {f"bad:{case}": _args(case, d) for case in SUBPROCESS_CASES}
    jobs.update({
        "tour": ["tour", "--quick", "--only", "gates", "--out", "tour-report", "--seed", "1"],
        "fit-regression": ["fit", "lin.csv", "--target", "target", "--hidden", "0", "--epochs", "300",
                           "--eta", "0.05", "--out", "deep/fit-reg"],
        "fit-classification": ["fit", "blobs.csv", "--target", "label", "--task", "classification",
                               "--hidden", "8", "--epochs", "60", "--out", "fit-cls"],
    })
    if HAS_EXTRAPOLATE:
        jobs["extrapolate"] = ["extrapolate", "wave.csv", "--column", "signal", "--train", "40", "--steps",
                               "25", "--model", "gru", "--epochs", "150", "--out", "ex"]
    return jobs


@pytest.fixture(scope="module")
def runs(data_dir):
    """Futures of every subprocess run, started together on two workers (the machine has 2 cores; each run
    is a fresh interpreter importing JAX). A test waits for its own with ``runs[name].result()``."""
    pool = ThreadPoolExecutor(max_workers=2)
    futures = {name: pool.submit(run_cli, *args, cwd=data_dir) for name, args in _jobs(data_dir).items()}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


# --- bad input: exit 2, one line on stderr --------------------------------------------------------------

BAD_INPUT = {
    "missing file": (["fit", "{d}/nope.csv", "--target", "y"], "file not found"),
    "missing column": (["fit", "{d}/good.csv", "--target", "zz"], "no column 'zz'"),
    "missing feature": (["fit", "{d}/good.csv", "--target", "y", "--features", "a,q"],
                        "available columns: a, b, y"),
    "non-numeric": (["fit", "{d}/text.csv", "--target", "y"], "line 3: 'abc' is not a number"),
    "too few rows": (["fit", "{d}/short.csv", "--target", "y"], "at least 10"),
    "empty file": (["fit", "{d}/empty.csv", "--target", "y"], "is empty"),
    "ragged row": (["fit", "{d}/ragged.csv", "--target", "b"], "line 3: 1 field(s)"),
    "bad hidden": (["fit", "{d}/good.csv", "--target", "y", "--hidden", "64,x"], "--hidden"),
    "bad task": (["fit", "{d}/good.csv", "--target", "y", "--task", "magic"], "--task"),
    "bad eta": (["fit", "{d}/good.csv", "--target", "y", "--eta", "-1"], "--eta must be"),
    "out is a file": (["fit", "{d}/good.csv", "--target", "y", "--out", "{d}/a_file"], "not a directory"),
    "window too long": (["extrapolate", "{d}/series.csv", "--column", "s", "--train", "5", "--steps", "3",
                         "--window", "4"], "too few rows for the window"),
    "train beyond data": (["extrapolate", "{d}/series.csv", "--column", "s", "--train", "50", "--steps", "3"],
                          "exceeds the 12 values"),
    "no steps": (["extrapolate", "{d}/series.csv", "--column", "s", "--train", "8", "--steps", "0"],
                 "--steps must be"),
    "bad model": (["extrapolate", "{d}/series.csv", "--column", "s", "--train", "8", "--steps", "2",
                   "--model", "cnn"], "--model"),
    "extrapolate column": (["extrapolate", "{d}/series.csv", "--column", "x", "--train", "8", "--steps", "2"],
                           "available columns: t, s"),
    "unknown experiment": (["run", "no-such-thing"], "no experiment named 'no-such-thing'"),
    "bad epochs": (["run", "gates", "--epochs", "0"], "--epochs"),
    "tour only": (["tour", "--only", "gates,nothing", "--out", "{d}/tour"], "no experiment named 'nothing'"),
    "unknown command": (["frobnicate"], "No such command"),
}
# Every case runs in-process through cli.main; one case of each kind also runs as a real `python -m physnn`
# process (each costs a fresh interpreter importing JAX): a missing file, a missing column, a non-numeric
# value, too few rows for the window, a bad option value.
SUBPROCESS_CASES = ["missing file", "missing column", "non-numeric", "window too long", "bad model"]


def _args(case, data_dir):
    return [a.format(d=data_dir) for a in BAD_INPUT[case][0]]


def _check_bad_input(case, code, stdout, stderr, data_dir):
    assert code == 2, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("physnn: error: ")
    assert BAD_INPUT[case][1] in lines[0]
    assert "Traceback" not in stderr + stdout
    assert not (data_dir / "physnn-fit").exists() and not (data_dir / "tour").exists()


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_in_process(case, data_dir, capsys, monkeypatch):
    monkeypatch.chdir(data_dir)
    code = main_exit_code(_args(case, data_dir))
    captured = capsys.readouterr()
    _check_bad_input(case, code, captured.out, captured.err, data_dir)


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_input_in_subprocess(case, runs, data_dir):
    result = runs[f"bad:{case}"].result()
    _check_bad_input(case, result.returncode, result.stdout, result.stderr, data_dir)


# --- list, fit, extrapolate -----------------------------------------------------------------------------


def test_list_names_the_experiments(capsys):
    assert main_exit_code(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in ("gates", "digits", "eos", "iris"):
        line = next((line for line in lines if line.split()[:1] == [name]), None)
        assert line is not None and len(line.split()) > 3, lines  # name + a description


def test_fit_regression(runs, data_dir):
    result = runs["fit-regression"].result()
    out = data_dir / "deep" / "fit-reg"  # nested: the folders are created
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["dimensions"] == [2, 1] and summary["rows"] == {"train": 36, "val": 12, "test": 12}
    assert summary["metrics"]["r2_test"] > 0.99  # a linear target: the linear model must fit it
    assert (out / "loss_curve.png").read_bytes()[:8] == PNG_SIGNATURE
    rows = list(csv.reader(open(out / "predictions.csv")))
    assert rows[0] == ["line", "target", "predicted"] and len(rows) == 13
    assert "r2_test" in result.stdout


def test_fit_classification_with_text_labels(runs, data_dir):
    result = runs["fit-classification"].result()
    out = data_dir / "fit-cls"
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["dimensions"] == [2, 8, 1]  # two classes: one sigmoid output
    assert summary["metrics"]["accuracy_test"] >= 0.9
    predicted = [row[2] for row in csv.reader(open(out / "predictions.csv"))][1:]
    assert set(predicted) <= {"up", "down"}


@pytest.mark.skipif(not HAS_EXTRAPOLATE, reason="physnn.sequences.extrapolate is not written yet")
def test_extrapolate_writes_predictions_and_plot(runs, data_dir):
    result = runs["extrapolate"].result()
    out = data_dir / "ex"
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(open(out / "predictions.csv")))
    assert rows[0] == ["step", "actual", "predicted"] and len(rows) == 26
    assert [int(r[0]) for r in rows[1:]] == list(range(40, 65))
    assert all(r[1] for r in rows[1:21]) and not any(r[1] for r in rows[21:])  # actual known up to row 59
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["metrics"]["compared_steps"] == 20
    # a smooth periodic signal: the rollout must beat predicting zero (rms of a sine = 0.71) by far
    assert summary["metrics"]["extrapolation_rmse"] < 0.3
    assert (out / "extrapolation.png").read_bytes()[:8] == PNG_SIGNATURE


# --- the tour and its report in a browser ---------------------------------------------------------------

CHECK_SCRIPT = """<img id='control' src='no-such-image.png' alt='control'><script>
window.addEventListener('load', function () {
  var rows = Array.from(document.images).map(function (i) {
    return {src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth}; });
  var out = document.createElement('pre'); out.id = 'imgcheck';
  out.textContent = JSON.stringify(rows); document.body.appendChild(out);
});
</script></body>"""


def images_in_chromium(index: Path, tmp_path: Path) -> list[dict]:
    """Open a copy of the report page (same folder, so relative links hold) in headless Chromium with a script
    that records every image's naturalWidth after the load event; returns those records."""
    page = index.read_text()
    assert page.count("</body>") == 1
    check = index.with_name("_imgcheck.html")
    check.write_text(page.replace("</body>", CHECK_SCRIPT))
    try:
        result = subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
             f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=15000", "--dump-dom",
             check.resolve().as_uri()],
            capture_output=True, text=True, timeout=120)
    finally:
        check.unlink()
    found = re.search(r'<pre id="imgcheck">(.*?)</pre>', result.stdout, re.S)
    assert found, f"no image report in Chromium's DOM; stderr: {result.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def test_tour_quick_writes_report_that_loads_in_a_browser(runs, data_dir, tmp_path):
    result = runs["tour"].result()
    out = data_dir / "tour-report"
    assert result.returncode == 0, result.stderr
    assert "xor_hidden_acc" in result.stdout and "gates" in result.stdout  # the summary table
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics) == ["gates"] and metrics["gates"]["status"] == "ok"
    assert metrics["gates"]["metrics"]["xor_hidden_acc"] == 1.0
    assert metrics["gates"]["metrics"]["xor_logreg_acc"] <= 0.75
    page = (out / "index.html").read_text()
    sources = re.findall(r"<img src='([^']+)'", page)
    assert len(sources) == 2 and all((out / s).read_bytes()[:8] == PNG_SIGNATURE for s in sources)
    assert "gates/accuracies.csv" in page and (out / "gates" / "accuracies.csv").exists()

    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (Debian package 'chromium'): browser check not run")
    images = images_in_chromium(out / "index.html", tmp_path)
    control = [i for i in images if i["src"] == "no-such-image.png"]
    assert control and control[0]["width"] == 0, "the check must see a missing image as broken"
    real = [i for i in images if i["src"] != "no-such-image.png"]
    assert sorted(i["src"] for i in real) == sorted(sources)
    assert all(i["complete"] and i["width"] > 0 for i in real), real


@pytest.fixture
def fake_experiments(monkeypatch):
    """Two cheap experiments in the registry: one that works and one that raises."""
    from matplotlib.figure import Figure

    def ok(seed=0, quick=False, epochs=None):
        fig = Figure()
        fig.subplots().plot([0, 1], [seed, epochs or 0])
        return Result({"value": 1.5, "epochs": epochs or 0}, figures={"line": fig}, headline="value")

    def boom(seed=0, quick=False, epochs=None):
        raise FloatingPointError("training diverged: loss = nan at epoch 7")

    monkeypatch.setitem(registry._REGISTRY, "test-ok", registry.Experiment("test-ok", "works", ok))
    monkeypatch.setitem(registry._REGISTRY, "test-boom", registry.Experiment("test-boom", "fails", boom))


def test_tour_reports_a_failing_experiment_and_goes_on(fake_experiments, tmp_path, capsys):
    out = tmp_path / "tour"
    code = main_exit_code(["tour", "--quick", "--only", "test-boom,test-ok", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err + captured.out
    assert "test-boom" in captured.out and "failed" in captured.out  # the table names the failure
    assert "1 of 2 experiment(s) failed: test-boom" in captured.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test-boom"]["status"] == "failed"
    assert metrics["test-boom"]["error"] == "FloatingPointError: training diverged: loss = nan at epoch 7"
    assert metrics["test-ok"]["status"] == "ok"
    assert metrics["test-ok"]["metrics"] == {"value": 1.5, "epochs": 0}
    page = (out / "index.html").read_text()
    assert "training diverged: loss = nan at epoch 7" in page and "test-ok/line.png" in page


def test_run_one_experiment(fake_experiments, tmp_path, capsys):
    out = tmp_path / "one"
    assert main_exit_code(["run", "test-ok", "--epochs", "4", "--seed", "2", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "value" in captured.out and "1.5" in captured.out
    assert json.loads((out / "metrics.json").read_text())["test-ok"]["metrics"] == {"value": 1.5, "epochs": 4}
    assert main_exit_code(["run", "test-boom", "--out", str(tmp_path / "two")]) == 1
    assert "test-boom" in capsys.readouterr().err


def test_read_csv_without_header_names_columns_by_position(tmp_path):
    (tmp_path / "raw.csv").write_text("1.0, 2.0\n3.0, 4.5\n")
    table = cli.read_csv(tmp_path / "raw.csv")
    assert table.header == ["0", "1"]
    assert table.numeric("1").tolist() == [2.0, 4.5]
    with pytest.raises(cli.InputError, match="no column 'x'"):
        table.numeric("x")
