"""The documentation site builds with ``mkdocs build --strict`` (warnings, broken links and cross-references fail).

mkdocs.yml and docs/ are the site; the API pages come from physnn's docstrings through mkdocstrings, so a
docstring griffe cannot parse fails this test (see the exclusions in docs/api/layers.md and reservoir.md).
"""

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_set_up_commands() -> list[str]:
    """The shell commands in README.md's "Set up" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```bash\n")[1:]
    return [block.split("```", 1)[0].strip() for block in blocks]


@pytest.mark.slow
def test_docs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    pytest.importorskip("mkdocs_jupyter")
    site = tmp_path / "site"
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))  # before the build: more are being added
    mkdocs = shutil.which("mkdocs")
    command = [mkdocs] if mkdocs else [sys.executable, "-m", "mkdocs"]
    proc = subprocess.run([*command, "build", "--strict", "--site-dir", str(site)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    for module, name in [("models", "Sequential"), ("ffnn", "FFNN"), ("physics", "solve_ode"),
                         ("layers", "Dense"), ("schedulers", "Adam")]:
        page = site / "api" / module / "index.html"
        assert page.is_file(), f"no API page for physnn.{module}"
        assert name in page.read_text(encoding="utf-8"), f"physnn.{module}'s page does not document {name}"

    index = (site / "index.html").read_text(encoding="utf-8")
    commands = _readme_set_up_commands()
    assert len(commands) == 2, commands
    text = html.unescape(re.sub(r"<[^>]+>", "", index))
    for command in commands:
        assert command in text, f"index.html lacks the README command {command!r}"

    listing = (site / "notebooks" / "index.html").read_text(encoding="utf-8")
    for stem in notebooks:
        assert (site / "notebooks" / stem / "index.html").is_file(), f"notebook {stem} not rendered"
        assert f'href="{stem}/"' in listing, f"notebooks page does not link {stem}"


def _hooks():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_pages_include_the_readme_instead_of_copying_it():
    """The pages that show README text include it at build time (docs/hooks.py): every include resolves to the
    README's current text, and a missing section stops the build instead of leaving a stale copy."""
    hooks = _hooks()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    trust = hooks.include((ROOT / "docs" / "trust.md").read_text(encoding="utf-8"), ROOT, "trust.md")
    model_files = readme.split("### Model files\n", 1)[1].split("\n### ", 1)[0].strip()
    assert "## Model files\n" in trust and model_files in trust
    keras = hooks.include((ROOT / "docs" / "course-keras.md").read_text(encoding="utf-8"), ROOT, "course-keras.md")
    assert "\n## The course's code on physnn: what differs\n" in keras and "<!--" not in keras
    bench = hooks.include((ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8"), ROOT, "benchmarks.md")
    assert (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8").split("\n", 1)[1].strip() in bench
    with pytest.raises(ValueError, match="no section 'Not a section'"):
        hooks.include("<!-- include README.md#Not a section -->", ROOT, "page.md")
    with pytest.raises(ValueError, match="no such file"):
        hooks.include("<!-- include MISSING.md -->", ROOT, "page.md")
    for page in (ROOT / "docs").glob("*.md"):
        assert "A copy of" not in page.read_text(encoding="utf-8"), f"{page.name} still holds a copied text"
