"""The HTML report: files, links, metrics.json, failed entries, figure handling.

(That the page renders with every image loading in a real browser is checked in test_cli.py on the report
the tour writes.)
"""

import json
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from physnn.experiments.registry import Result  # noqa: E402
from physnn.report import format_value, json_scalar, slug, write_report  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _pyplot_figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [0, 1, 4])
    return fig


def _bare_figure():
    fig = Figure(figsize=(3, 2))
    fig.subplots().bar([0, 1], [2, 3])
    return fig


def _failure():
    try:
        raise RuntimeError("training diverged <at> epoch 3\nsecond line")
    except RuntimeError as err:
        return err


@pytest.fixture
def report(tmp_path):
    plt.close("all")
    results = {
        "alpha": Result(metrics={"acc": 0.975, "loss": float("nan"), "n": 3},
                        figures={"curve": _pyplot_figure(), "bars": _bare_figure()},
                        tables={"predictions": "x,y\n1,2\n"}, headline="acc"),
        "beta/gamma": Result(metrics={"r2": 0.5}),
        "broken": _failure(),
    }
    out = tmp_path / "nested" / "report"
    index = write_report(results, out, title="Test <report>", descriptions={"alpha": "first & best"},
                         timings={"alpha": 1.25, "broken": 0.5})
    return out, index


def test_files_and_relative_links(report):
    out, index = report
    assert index == out / "index.html"
    page = index.read_text()
    assert page.startswith("<!DOCTYPE html>")
    sources = re.findall(r"<img src='([^']+)'", page)
    assert sorted(sources) == ["alpha/bars.png", "alpha/curve.png"]
    for src in sources:
        assert (out / src).read_bytes()[:8] == PNG_SIGNATURE
    links = re.findall(r"href='([^'#]+)'", page)
    assert "alpha/predictions.csv" in links and "metrics.json" in links
    assert all(not link.startswith(("/", "file:", "http")) for link in links)
    assert (out / "alpha" / "predictions.csv").read_text() == "x,y\n1,2\n"
    assert not plt.get_fignums(), "pyplot figures must be closed after saving"


def test_page_content_is_escaped_and_complete(report):
    _, index = report
    page = index.read_text()
    assert "Test &lt;report&gt;" in page and "first &amp; best" in page
    assert "RuntimeError: training diverged &lt;at&gt; epoch 3" in page  # the one-line message
    assert "<details><summary>traceback</summary>" in page
    for name in ("alpha", "beta/gamma", "broken"):
        assert f">{name}</a>" in page  # in the summary table
    assert "acc = 0.975" in page
    assert "1.2 s" in page  # alpha's timing, one decimal


def test_metrics_json(report):
    out, _ = report
    data = json.loads((out / "metrics.json").read_text())
    assert list(data) == ["alpha", "beta/gamma", "broken"]
    assert data["alpha"]["status"] == "ok"
    assert data["alpha"]["metrics"] == {"acc": 0.975, "loss": None, "n": 3}  # NaN is not JSON: null
    assert data["alpha"]["headline"] == "acc" and data["alpha"]["seconds"] == 1.25
    assert data["alpha"]["description"] == "first & best"
    assert data["beta/gamma"]["headline"] == "r2"  # first metric when none is named
    assert data["broken"]["status"] == "failed"
    assert data["broken"]["error"] == "RuntimeError: training diverged <at> epoch 3"
    assert data["broken"]["metrics"] == {}


def test_slugs_keep_folders_apart(tmp_path):
    results = {"a/b": Result({"x": 1.0}, figures={"f": _bare_figure()}),
               "a_b": Result({"x": 2.0}, figures={"f": _bare_figure()})}
    page = write_report(results, tmp_path).read_text()
    sources = re.findall(r"<img src='([^']+)'", page)
    assert len(set(sources)) == 2
    assert all((tmp_path / s).exists() for s in sources)


def test_rewrite_overwrites_inside_the_folder_only(tmp_path):
    outside = tmp_path / "keep.txt"
    outside.write_text("untouched")
    out = tmp_path / "rep"
    write_report({"a": Result({"x": 1.0})}, out)
    write_report({"a": Result({"x": 2.0})}, out)
    assert json.loads((out / "metrics.json").read_text())["a"]["metrics"]["x"] == 2.0
    assert outside.read_text() == "untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "rep"]


def test_bad_arguments(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        write_report({}, tmp_path / "file")
    with pytest.raises(ValueError, match=r"results\['a'\] must be a Result or an exception, got dict"):
        write_report({"a": {"x": 1}}, tmp_path / "out")


def test_helpers():
    assert slug("beta/gamma δ") == "beta_gamma"
    assert slug("...") == "item"
    assert json_scalar(float("inf")) is None
    assert json_scalar(True) is True
    import numpy as np

    assert json_scalar(np.float32(0.5)) == 0.5 and isinstance(json_scalar(np.int64(3)), int)
    assert format_value(0.123456) == "0.1235" and format_value(None) == "-"
    assert format_value(float("nan")) == "nan"
