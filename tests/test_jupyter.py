"""physnn in a Jupyter kernel: fit's progress is one updating line without control characters, summary() and a
History are HTML tables, History.plot() and the experiments' figures display inline (a notebook executed by
nbclient, its outputs inspected)."""

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

CELLS = [
    "import numpy as np\nimport physnn\nfrom physnn.layers import Dense, Input\n"
    "x = np.random.default_rng(0).normal(size=(64, 3)); y = x.sum(1, keepdims=True)\n"
    "model = physnn.Sequential([Input((3,)), Dense(8, activation='tanh'), Dense(1)]).compile('adam', 'mse')",
    "history = model.fit(x, y, epochs=25, batch_size=16, validation_split=0.25, verbose=1)",
    "model.summary()",
    "history",
    "ax = history.plot()",
    "from physnn.experiments import get_experiment\nget_experiment('eos')(quick=True).figures['fit']",
]


@pytest.mark.slow
def test_fit_summary_history_and_figures_render_in_a_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [cell.outputs for cell in notebook.cells]
    for cell_outputs in outputs:
        assert not [o for o in cell_outputs if o.output_type == "error"], cell_outputs
        for o in cell_outputs:
            text = o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
            assert "\x1b" not in text and "\r" not in text, repr(text[:200])  # no terminal control characters
    progress = [o for o in outputs[1] if o.output_type == "display_data"]
    assert len(progress) == 1, outputs[1]  # one line, updated in place
    line = progress[0]["data"]["text/plain"]
    assert "25/25" in line and "val_loss" in line
    summary = [o for o in outputs[2] if "text/html" in o.get("data", {})]
    assert summary and "<table>" in summary[0]["data"]["text/html"] and "dense" in summary[0]["data"]["text/html"]
    assert not [o for o in outputs[2] if o.output_type == "execute_result"]  # the table only, no returned text
    assert "<table>" in outputs[3][0]["data"]["text/html"] and "val_loss" in outputs[3][0]["data"]["text/html"]
    assert any("image/png" in o.get("data", {}) for o in outputs[4])
    assert any("image/png" in o.get("data", {}) for o in outputs[5])


def test_history_plot_draws_every_curve():
    import matplotlib

    matplotlib.use("Agg")
    from physnn.callbacks import History

    history = History()
    for epoch in range(5):
        history.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 1.2 / (epoch + 1), "acc": 0.1 * epoch})
    ax = history.plot()
    assert [line.get_label() for line in ax.get_lines()] == ["loss", "val_loss", "acc"]
    assert ax.get_lines()[1].get_linestyle() == "--" and ax.get_yscale() == "linear"
    assert history.plot(["loss", "val_loss"]).get_yscale() == "log"
    assert "<table>" in history._repr_html_()
    with pytest.raises(ValueError, match="not logged"):
        history.plot(["mae"])
