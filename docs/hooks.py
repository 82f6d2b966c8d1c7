"""MkDocs hooks: pages that show README text include it at build time, and notebooks.md lists the notebooks.

* ``<!-- include PATH -->`` is replaced by the file PATH (relative to the repository root) without its title line;
  ``<!-- include PATH#Section title -->`` by that section's body, and ``<!-- include PATH#Section title | heading
  -->`` by the section with its heading. Headings are shifted so the section's own level becomes 2 (its
  subsections 3, or 2 without the heading). A missing file or section stops the build: the pages cannot drift
  from the README, because they hold no copy of it.
* The notebooks in ../notebooks (reached through the docs/notebooks symlink) are rendered by mkdocs-jupyter; the
  ``<!-- notebooks -->`` marker on notebooks.md becomes one link per notebook, so the page lists whatever exists,
  and an empty folder gives a sentence instead of a broken link.
"""

import json
import re
from pathlib import Path

MARKER = "<!-- notebooks -->"
INCLUDE = re.compile(r"<!-- include (?P<path>[^#\s]+)(?:#(?P<section>[^|>]+?))?\s*(?P<heading>\| heading)?\s*-->")
HEADING = re.compile(r"^(#+) ")


def _shift(lines: list[str], by: int) -> list[str]:
    """Lines with every Markdown heading's level changed by ``by`` (outside fenced code blocks)."""
    out, fenced = [], False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        out.append("#" * (len(match.group(1)) + by) + line[len(match.group(1)):] if match else line)
    return out


def section_text(text: str, section: str | None, heading: bool = False, where: str = "") -> str:
    """The included Markdown (see the module docstring); ValueError naming ``where`` if the section is missing."""
    lines = text.splitlines()
    if section is None:
        body = lines[1:] if lines and lines[0].startswith("# ") else lines
        return "\n".join(body).strip("\n")
    starts = [i for i, line in enumerate(lines) if HEADING.match(line) and line.lstrip("#").strip() == section.strip()]
    if not starts:
        raise ValueError(f"{where}: no section {section.strip()!r} to include")
    start = starts[0]
    level = len(HEADING.match(lines[start]).group(1))
    end = next((j for j in range(start + 1, len(lines))
                if HEADING.match(lines[j]) and len(HEADING.match(lines[j]).group(1)) <= level), len(lines))
    chosen = lines[start:end] if heading else lines[start + 1:end]
    return "\n".join(_shift(chosen, 2 - level if heading else 1 - level)).strip("\n")


def include(markdown: str, root: Path, where: str = "") -> str:
    """``markdown`` with every include marker replaced (see the module docstring)."""
    def replace(match):
        path = root / match.group("path")
        if not path.is_file():
            raise ValueError(f"{where}: cannot include {match.group('path')}: no such file")
        return section_text(path.read_text(encoding="utf-8"), match.group("section"), bool(match.group("heading")),
                            where)
    return INCLUDE.sub(replace, markdown)


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
    markdown = include(markdown, Path(config.config_file_path).parent, page.file.src_uri)
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
