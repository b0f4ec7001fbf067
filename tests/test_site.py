"""The documentation site: ``mkdocs build --strict`` passes, and in headless Chromium the pages show
rendered equations (MathJax output elements) and plot images that load.

The site is built once into a temporary folder and served on 127.0.0.1 (a free port, this process
only). Chromium (Debian's ``chromium``, installed by ``.ci/run``) opens a probe page of the same
origin that loads each page in an iframe, waits for MathJax, and writes what it found as JSON into
its own DOM, which ``--dump-dom`` prints. Without the docs extra (``pip install '.[docs]'``) or
Chromium these tests are skipped, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading

import pytest

for module in ("mkdocs", "material", "mkdocstrings", "mkdocs_jupyter", "pymdownx", "nbclient", "matplotlib"):
    if not os.environ.get("CI"):  # under CI a missing docs extra is an error, not a skip
        pytest.importorskip(module, reason="the site needs the docs extra: pip install '.[docs]'")

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: Pages the browser checks: ``name -> (path in the site, must show equations)``. The math page must
#: once its Markdown has LaTeX (``$$``) in it.
PAGES = {"index": ("", True), "notebook": ("notebook/", True), "tutorial": ("tutorial/", False),
         "math": ("math/", "$$" in (ROOT / "docs" / "math.md").read_text(encoding="utf-8"))}

PROBE = """<!doctype html>
<html><head><meta charset="utf-8"><title>probe</title><link rel="icon" href="data:,"></head><body>
<pre id="result">pending</pre>
<iframe id="frame" style="width: 1280px; height: 20000px"></iframe>
<script>
const pages = %(pages)s;
const frame = document.getElementById("frame");
const visit = (url) => new Promise((resolve) => { frame.onload = resolve; frame.src = url; });
const settled = (img) => img.complete ? null : new Promise((r) => { img.onload = img.onerror = r; });
async function inspect() {
  const w = frame.contentWindow, d = frame.contentDocument;
  if (w.MathJax && w.MathJax.startup && w.MathJax.startup.promise) await w.MathJax.startup.promise;
  const images = Array.from(d.images);
  await Promise.all(images.map(settled));
  const leftover = Array.from(d.querySelectorAll(".jp-MarkdownOutput")).map((cell) => {
    const copy = cell.cloneNode(true);
    copy.querySelectorAll("code, pre, mjx-container").forEach((e) => e.remove());
    return (copy.textContent.match(/\\$/g) || []).length;
  }).reduce((a, b) => a + b, 0);
  return {
    title: d.title,
    mathjax: (w.MathJax && w.MathJax.version) || null,
    math: d.querySelectorAll("mjx-container").length,
    math_errors: d.querySelectorAll("mjx-merror, [data-mjx-error]").length,
    arithmatex: d.querySelectorAll(".arithmatex").length,
    arithmatex_unrendered: Array.from(d.querySelectorAll(".arithmatex"))
      .filter((e) => !e.querySelector("mjx-container")).length,
    notebook_dollars_left: leftover,
    images: images.map((i) => ({src: i.getAttribute("src").slice(0, 60), ok: i.complete && i.naturalWidth > 0,
                                width: i.naturalWidth, height: i.naturalHeight})),
    text: d.body.innerText,
  };
}
(async () => {
  const out = {};
  for (const [name, url] of Object.entries(pages)) {
    try { await visit(url); out[name] = await inspect(); } catch (e) { out[name] = {error: String(e)}; }
  }
  document.getElementById("result").textContent = JSON.stringify(out);
})();
</script></body></html>
"""


def chromium() -> str | None:
    return shutil.which("chromium") or (os.path.exists("/usr/bin/chromium") and "/usr/bin/chromium") or None


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    """The site, built once with ``mkdocs build --strict``."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode:
        log = [line for line in result.stderr.splitlines() if "WARNING" in line or "ERROR" in line or "Error" in line]
        pytest.fail("mkdocs build --strict failed:\n" + "\n".join(log[-40:] or result.stderr.splitlines()[-40:]))
    return out


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[tuple[str, int]]

    def log_request(self, code="-", size="-"):
        self.requests.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def rendered(site) -> tuple[dict, list[tuple[str, int]]]:
    """What the probe found on each page of ``PAGES``, and the requests the server answered."""
    browser = chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it (apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    pages = {name: "/" + path for name, (path, _) in PAGES.items()}
    (site / "_probe.html").write_text(PROBE % {"pages": json.dumps(pages)}, encoding="utf-8")
    requests: list[tuple[str, int]] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    profile = site.parent / "chromium-profile"
    try:
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
             f"--user-data-dir={profile}", "--virtual-time-budget=30000", "--window-size=1280,2000",
             "--dump-dom", f"http://127.0.0.1:{server.server_address[1]}/_probe.html"],
            capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    match = re.search(r'<pre id="result">(.*?)</pre>', result.stdout, re.S)
    assert match, f"no probe result from chromium (exit {result.returncode}):\n{result.stderr[-2000:]}"
    text = html.unescape(match.group(1))
    assert text != "pending", "the probe did not finish within chromium's virtual time budget"
    return json.loads(text), requests


def test_build_has_the_pages_and_plots(site):
    for page in ["index.html", "math/index.html", "tutorial/index.html", "notebook/index.html", "api/index.html"]:
        assert (site / page).is_file(), page
    assert (site / "notebook" / "tutorial.ipynb").is_file(), "the notebook is offered for download"
    for plot in ["seed_gates.png", "long_sequence_gates.png"]:
        assert (site / "img" / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", plot
    assert (site / "javascripts" / "mathjax" / "tex-chtml.js").is_file()


def test_site_loads_nothing_from_the_network(site):
    """No page loads a script, style sheet or font from another host (the test browser has no network)."""
    external = re.compile(r'<(?:script|img)[^>]+src="(?:https?:)?//|<link[^>]+href="(?:https?:)?//[^"]*"[^>]*'
                          r'rel="(?:stylesheet|preload|preconnect)"|<link[^>]+rel="(?:stylesheet|preload|preconnect)"'
                          r'[^>]+href="(?:https?:)?//', re.I)
    for page in site.rglob("*.html"):
        found = external.search(page.read_text(encoding="utf-8"))
        assert found is None, f"{page.relative_to(site)} loads {found.group(0)[:120]}"


def test_api_reference_is_generated(site):
    text = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ["refgru.gru", "refgru.gru_step", "refgru.GRUWeights", "refgru.RefgruError", "refgru.get_activation"]:
        assert f'id="{name}"' in text, name


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders(rendered, name):
    found, _ = rendered
    page = found[name]
    assert "error" not in page, page.get("error")
    assert page["mathjax"], f"{name}: MathJax did not load"
    assert page["math_errors"] == 0, f"{name}: {page['math_errors']} equations failed to typeset"
    assert page["arithmatex_unrendered"] == 0, f"{name}: {page['arithmatex_unrendered']} equations left as TeX"
    if PAGES[name][1]:
        assert page["math"] >= 5, f"{name}: only {page['math']} rendered equations"
    broken = [image for image in page["images"] if not image["ok"]]
    assert not broken, f"{name}: images that did not load: {broken}"


def test_index_shows_equations_and_gate_plots(rendered):
    page = rendered[0]["index"]
    assert page["arithmatex"] >= 10 and page["math"] >= page["arithmatex"]
    plots = {image["src"]: (image["width"], image["height"]) for image in page["images"]}
    assert plots.get("img/seed_gates.png") == (1000, 700), plots  # line plots (refgru.teach.plot)
    assert plots.get("img/long_sequence_gates.png") == (1200, 800), plots  # heatmaps


def test_notebook_page_is_executed_and_typeset(rendered):
    page = rendered[0]["notebook"]
    assert page["notebook_dollars_left"] == 0, "some $...$ in the notebook's markdown was not typeset"
    assert "GRU output (the final state)" in page["text"], "the notebook's outputs are missing"
    plots = [image for image in page["images"] if image["src"].startswith("data:image/png")]
    assert len(plots) >= 4 and all(image["ok"] for image in plots), plots


def test_every_request_succeeded(rendered):
    _, requests = rendered
    assert any(path.startswith("/javascripts/mathjax/") for path, _ in requests)
    assert any(path.endswith(".woff") for path, _ in requests), "MathJax fonts were never requested"
    failed = [(path, code) for path, code in requests if code >= 400]
    assert not failed, failed
