"""MkDocs hook: list the notebooks that exist at build time on notebooks.md.

The notebooks in ../notebooks (reached through the docs/notebooks symlink) are rendered by mkdocs-jupyter; this
hook replaces the ``<!-- notebooks -->`` marker on notebooks.md with one link per notebook, so the page lists
whatever exists, and an empty folder gives a sentence instead of a broken link.
"""

import json
from pathlib import Path

MARKER = "<!-- notebooks -->"


def _title(path: Path) -> str:
    """The notebook's first Markdown heading, or its file name."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return path.stem
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        for line in text.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return path.stem


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri != "notebooks.md" or MARKER not in markdown:
        return markdown
    notebooks = [f for f in files if f.src_uri.startswith("notebooks/") and f.src_uri.endswith(".ipynb")]
    if not notebooks:
        listing = "No notebook has been written yet: the folder `notebooks/` is empty."
    else:
        lines = []
        for f in sorted(notebooks, key=lambda f: f.src_uri):
            name = f.src_uri.removeprefix("notebooks/")
            lines.append(f"- [{_title(Path(f.abs_src_path))}]({f.src_uri}) — `{name}`")
        listing = "\n".join(lines)
    return markdown.replace(MARKER, listing)
