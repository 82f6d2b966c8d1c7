"""The HTML report of experiment results: ``index.html`` + PNG figures + CSV tables + ``metrics.json``.

Layout written inside ``out_dir`` (nothing is written or removed outside it)::

    out_dir/index.html          self-contained page (inline CSS, no scripts), relative links only
    out_dir/metrics.json        {name: {"status", "description", "headline", "seconds", "metrics", "error"}}
    out_dir/<name>/<figure>.png one PNG per figure of each experiment
    out_dir/<name>/<table>.csv  one CSV per table of each experiment

Figures are saved with matplotlib's Agg renderer and closed afterwards (never shown), so a tour of many
experiments does not accumulate open figures.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import re
import traceback
from collections.abc import Mapping
from pathlib import Path

from physnn.experiments.registry import Result

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1d2330; line-height: 1.45; }
h1 { margin-bottom: .2rem; } .sub { color: #5b6475; margin-top: 0; }
table { border-collapse: collapse; margin: .6rem 0 1rem; }
th, td { border: 1px solid #d4d8e0; padding: .25rem .6rem; text-align: left; }
th { background: #f1f3f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #1a7f37; font-weight: 600; } .failed { color: #c62828; font-weight: 600; }
section { border-top: 2px solid #e3e6ec; margin-top: 2rem; padding-top: .5rem; }
figure { display: inline-block; margin: .5rem 1rem .5rem 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #e3e6ec; }
figcaption { color: #5b6475; font-size: .9rem; }
pre.error { background: #fff3f3; border: 1px solid #f1c0c0; padding: .6rem; white-space: pre-wrap; }
"""


def slug(name: str) -> str:
    """A file-system-safe version of ``name`` (letters, digits, '-', '_', '.'; anything else becomes '_')."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._")
    return cleaned or "item"


def json_scalar(value):
    """A JSON-safe version of a metric value: bool/int/float kept, NaN and infinities -> None, else str."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if hasattr(value, "dtype") and getattr(value.dtype, "kind", "f") in "iu":
        return int(number)
    return number if math.isfinite(number) else None


def format_value(value) -> str:
    """Four significant digits for floats (the report's and the console table's number format)."""
    if value is None:
        return "-"
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def save_figure(fig, path: Path, dpi: int = 100) -> Path:
    """Save a matplotlib ``fig`` as PNG at ``path`` (matplotlib renders PNG with Agg), then close it.

    Works for figures from ``pyplot`` (released from pyplot's registry, so none accumulate) and for bare
    ``matplotlib.figure.Figure`` objects alike. Returns ``path``.
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=dpi, bbox_inches="tight", format="png")  # PNG is always rendered by Agg
    finally:
        plt.close(fig)
    return path


def headline_of(result: Result) -> tuple[str | None, object]:
    """(name, value) of the metric a summary shows: ``result.headline`` or else the first metric."""
    if result.headline is not None and result.headline in result.metrics:
        return result.headline, result.metrics[result.headline]
    if result.metrics:
        name = next(iter(result.metrics))
        return name, result.metrics[name]
    return None, None


def error_message(err: BaseException) -> str:
    """One line: the exception type and its message."""
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def _entry(name, outcome, description, seconds) -> dict:
    entry = {"status": "ok", "description": description, "seconds": seconds}
    if isinstance(outcome, Result):
        headline, _ = headline_of(outcome)
        entry.update(headline=headline, metrics={k: json_scalar(v) for k, v in outcome.metrics.items()})
    else:
        entry.update(status="failed", error=error_message(outcome), headline=None, metrics={})
    return entry


def _metrics_table(metrics: Mapping) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td>"
        f"<td class='num'>{html.escape(format_value(json_scalar(v)))}</td></tr>"
        for k, v in metrics.items()
    )
    return f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>" if rows else "<p>No metrics.</p>"


def write_report(
    results: Mapping[str, Result | BaseException],
    out_dir,
    title: str = "physnn report",
    descriptions: Mapping[str, str] | None = None,
    timings: Mapping[str, float] | None = None,
    subtitle: str | None = None,
) -> Path:
    """Write ``index.html``, ``metrics.json`` and every figure/table of ``results`` into ``out_dir``.

    Arguments:
        results: experiment name -> its ``Result``, or the exception it raised (shown as failed, with the
            message and the traceback when the exception carries one).
        out_dir: the report folder; created if needed. Files of the same names are overwritten; nothing
            outside the folder is touched.
        title: page title; ``subtitle``: a line under it (e.g. the command that made the report).
        descriptions: name -> one-line description shown in each section (optional).
        timings: name -> seconds the experiment took (optional).
    Returns:
        The path of ``index.html``.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir={str(out)!r} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    descriptions = dict(descriptions or {})
    timings = dict(timings or {})

    summary_rows, sections, entries = [], [], {}
    used_slugs: set[str] = set()
    for name, outcome in results.items():
        if not isinstance(outcome, (Result, BaseException)):
            raise ValueError(f"results[{name!r}] must be a Result or an exception, "
                             f"got {type(outcome).__name__}")
        folder = slug(name)
        while folder in used_slugs:
            folder += "_"
        used_slugs.add(folder)
        seconds = timings.get(name)
        description = descriptions.get(name, "")
        seconds = None if seconds is None else float(seconds)
        entries[name] = _entry(name, outcome, description, None if seconds is None else round(seconds, 3))
        time_text = "-" if seconds is None else f"{seconds:.1f} s"
        anchor = f"exp-{folder}"
        esc_name = html.escape(str(name))

        if isinstance(outcome, Result):
            metric, value = headline_of(outcome)
            shown = format_value(json_scalar(value))
            head = "-" if metric is None else f"{html.escape(metric)} = {html.escape(shown)}"
            status = "<span class='ok'>ok</span>"
            body = [_metrics_table(outcome.metrics)]
            figures = []
            for fig_name, fig in outcome.figures.items():
                file = f"{folder}/{slug(fig_name)}.png"
                save_figure(fig, out / file)
                figures.append(
                    f"<figure><img src='{html.escape(file)}' alt='{html.escape(str(fig_name))}'>"
                    f"<figcaption>{html.escape(str(fig_name))}</figcaption></figure>"
                )
            if figures:
                body.append("<div class='figures'>" + "".join(figures) + "</div>")
            links = []
            for table_name, csv_text in outcome.tables.items():
                file = f"{folder}/{slug(table_name)}.csv"
                (out / folder).mkdir(parents=True, exist_ok=True)
                (out / file).write_text(str(csv_text), encoding="utf-8")
                links.append(f"<li><a href='{html.escape(file)}'>{html.escape(str(table_name))}.csv</a></li>")
            if links:
                body.append("<p>Tables (CSV):</p><ul>" + "".join(links) + "</ul>")
        else:
            head = html.escape(error_message(outcome))
            status = "<span class='failed'>failed</span>"
            body = [f"<pre class='error'>{html.escape(error_message(outcome))}</pre>"]
            if outcome.__traceback__ is not None:
                tb = "".join(traceback.format_exception(type(outcome), outcome, outcome.__traceback__))
                body.append(f"<details><summary>traceback</summary><pre class='error'>{html.escape(tb)}</pre>"
                            "</details>")

        summary_rows.append(
            f"<tr><td><a href='#{anchor}'>{esc_name}</a></td><td>{status}</td><td>{head}</td>"
            f"<td class='num'>{time_text}</td></tr>"
        )
        sections.append(
            f"<section id='{anchor}'><h2>{esc_name} {status}</h2>"
            + (f"<p>{html.escape(description)}</p>" if description else "")
            + f"<p class='sub'>time: {time_text}</p>" + "".join(body) + "</section>"
        )

    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    n_failed = sum(1 for e in entries.values() if e["status"] == "failed")
    sub = html.escape(subtitle) + " &middot; " if subtitle else ""
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='sub'>{sub}{len(entries)} experiment(s), {n_failed} failed "
        f"&middot; {stamp} &middot; <a href='metrics.json'>metrics.json</a></p>"
        "<table class='summary'><tr><th>experiment</th><th>status</th><th>headline</th><th>time</th></tr>"
        + "".join(summary_rows) + "</table>" + "".join(sections) + "</body></html>\n"
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps(entries, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return index
