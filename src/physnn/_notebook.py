"""Display in Jupyter: whether we run in a notebook kernel, HTML tables, and one updating output line."""

from __future__ import annotations

import html


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), False in a terminal, a script or plain IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def html_table(header, rows, caption: str = "", footer=()) -> str:
    """An HTML table: ``header`` and every row a sequence of cells (escaped); ``footer`` lines under it."""
    def row(cells, tag):
        return "<tr>" + "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in cells) + "</tr>"

    caption = f"<caption style='text-align:left'><b>{html.escape(caption)}</b></caption>" if caption else ""
    notes = "".join(f"<div>{html.escape(line)}</div>" for line in footer)
    return (f"<table>{caption}<thead>{row(header, 'th')}</thead><tbody>{''.join(row(r, 'td') for r in rows)}"
            f"</tbody></table>{notes}")


class OutputLine:
    """One notebook output that is replaced in place (``IPython.display`` with a display id): no control
    characters, one line however many updates."""

    def __init__(self, text: str = ""):
        from IPython.display import display

        self.handle = display({"text/plain": text}, raw=True, display_id=True)

    def update(self, text: str) -> None:
        self.handle.update({"text/plain": text}, raw=True)
