"""mkdocs hooks of the refgru site (``hooks:`` in ``mkdocs.yml``).

- ``on_pre_build``: draw the gate plots with ``docs/make_plots.py``, in memory, so every build shows
  what the current code computes (nothing is written into ``docs/``, so ``mkdocs serve`` does not
  rebuild in a loop).
- ``on_files``: add those plots to the site as ``img/*.png``; add MathJax 3 (the copy the PyPI package
  ``sphinx-mathjax-offline`` ships) as ``javascripts/mathjax/``, so equations render with no network;
  and publish ``tutorial.ipynb`` (turned into a page by mkdocs-jupyter) at ``notebook/``, because
  ``tutorial.md`` already owns ``tutorial/``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import pathlib
import posixpath

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

DOCS = pathlib.Path(__file__).parent
#: Where the notebook page is published (``docs/tutorial.ipynb`` -> ``notebook/``).
NOTEBOOK_SRC, NOTEBOOK_DEST = "tutorial.ipynb", "notebook/index.html"
#: The PyPI distribution that ships MathJax 3, and the folder of MathJax inside it.
MATHJAX_DIST, MATHJAX_DIR = "sphinx-mathjax-offline", "sphinx-mathjax-offline/static/mathjax/"
#: MathJax's single-file components other than the one the site loads (``tex-chtml.js``): not copied.
MATHJAX_UNUSED = {"mml-chtml.js", "mml-svg.js", "node-main.js", "tex-chtml-full-speech.js", "tex-chtml-full.js",
                  "tex-mml-chtml.js", "tex-mml-svg.js", "tex-svg-full.js", "tex-svg.js"}

_plots: dict[str, bytes] = {}


def _make_plots_module():
    spec = importlib.util.spec_from_file_location("refgru_docs_make_plots", DOCS / "make_plots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_pre_build(config) -> None:
    _plots.clear()
    _plots.update(_make_plots_module().render_plots())


def mathjax_files() -> dict[str, str]:
    """``site path -> absolute path`` of the MathJax files to publish under ``javascripts/mathjax/``."""
    try:
        dist = importlib.metadata.distribution(MATHJAX_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise PluginError(f"the site needs MathJax from the PyPI package {MATHJAX_DIST}: "
                          "pip install '.[docs]'") from None
    found = {}
    for entry in dist.files or ():
        name = str(entry).replace("\\", "/")
        if name.startswith(MATHJAX_DIR) and name[len(MATHJAX_DIR):] not in MATHJAX_UNUSED:
            found["javascripts/mathjax/" + name[len(MATHJAX_DIR):]] = str(dist.locate_file(entry))
    if "javascripts/mathjax/tex-chtml.js" not in found:
        raise PluginError(f"{MATHJAX_DIST} does not hold {MATHJAX_DIR}tex-chtml.js")
    return found


def _publish_notebook_at(file: File, dest_uri: str, config) -> None:
    file.dest_uri = dest_uri
    file.abs_dest_path = str(pathlib.Path(config["site_dir"], dest_uri))
    file.url = posixpath.dirname(dest_uri) + "/" if config["use_directory_urls"] else dest_uri


def on_files(files: Files, config) -> Files:
    for name, png in sorted(_plots.items()):
        files.append(File.generated(config, f"img/{name}", content=png))
    for site_path, source in mathjax_files().items():
        files.append(File.generated(config, site_path, abs_src_path=source))
    notebook = files.get_file_from_path(NOTEBOOK_SRC)
    if notebook is not None:
        _publish_notebook_at(notebook, NOTEBOOK_DEST, config)
    return files

