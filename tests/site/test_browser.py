"""The built site in a real browser: how it is served and visited, and the colour toggle.

The site is served on 127.0.0.1 and loaded in headless Chromium; tests/site/test_every_page.py
visits every page with what is here. Requests to any other host are blocked and reported.
Material draws Mermaid into a closed shadow root, so the diagrams are found through the
DevTools protocol (DOM.getDocument with pierce), which sees closed roots. Screenshots of the
landing page go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from bs4 import BeautifulSoup

from tools.pageblocks import ROOT
from tools.sitepages import SITE

pytestmark = pytest.mark.site
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@functools.cache
def parsed(file: Path) -> BeautifulSoup:
    """A built HTML file, parsed once per test process: the site does not change during a run,
    and no test modifies a parsed page (parsing every page is most of what these tests cost)."""
    return BeautifulSoup(file.read_text(encoding="utf-8"), "html.parser")


def site_pages() -> list[str]:
    """URL paths of every HTML page in the built site."""
    found = []
    for html in sorted(SITE.rglob("index.html")):
        relative = html.parent.relative_to(SITE)
        if relative.parts and relative.parts[0] in {"assets", "search"}:
            continue
        found.append("" if str(relative) == "." else f"{relative.as_posix()}/")
    return found


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url():
    if not (SITE / "index.html").exists():
        pytest.fail("site/ is not built: run `make build` (make test does it first)")
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if executable is None:
        pytest.fail("no Chromium found: `bash tools/ensure_browser.sh` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


class Visit:
    """One page load with every request and console error recorded."""

    def __init__(self, browser, url: str, scheme: str = "light", viewport: dict | None = None,
                 init_script: str | None = None):
        self.context = browser.new_context(color_scheme=scheme,
                                           viewport=viewport or {"width": 1280, "height": 900})
        if init_script:
            self.context.add_init_script(init_script)
        self.external: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="networkidle")

    def _route(self, route):
        parsed = urlparse(route.request.url)
        if parsed.scheme in {"http", "https", "ws", "wss"} and parsed.hostname not in LOCAL_HOSTS:
            self.external.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def rendered_diagrams(self) -> tuple[int, int]:
        """(shadow roots holding an SVG diagram, of which mermaid error diagrams)."""
        cdp = self.context.new_cdp_session(self.page)
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        diagrams = errors = 0

        def svgs(node):
            if node.get("nodeName", "").lower() == "svg":
                yield node
            for child in node.get("children", []) + node.get("shadowRoots", []):
                yield from svgs(child)

        def walk(node):
            nonlocal diagrams, errors
            for shadow in node.get("shadowRoots", []):
                found = list(svgs(shadow))
                if found:
                    diagrams += 1
                    attributes = found[0].get("attributes", [])
                    errors += "error" in dict(zip(attributes[::2], attributes[1::2])).get(
                        "aria-roledescription", "")
            for child in node.get("children", []) + node.get("contentDocument", {}).get("children", []):
                walk(child)

        walk(root)
        return diagrams, errors

    def mermaid_parse_errors(self, sources: list[str]) -> list[str]:
        """Mermaid's own parser on each diagram source: the messages of those that fail."""
        return self.page.evaluate("""async (sources) => {
            const problems = [];
            for (const source of sources) {
                try { await mermaid.parse(source); }
                catch (error) { problems.push(String(error.message || error).slice(0, 300)); }
            }
            return problems;
        }""", sources)

    def close(self):
        self.context.close()


def test_a_mermaid_syntax_error_would_be_caught(browser, base_url):
    visit = Visit(browser, base_url)
    try:
        errors = visit.mermaid_parse_errors(["graph TD\n    A --> B", "graph TD\n    A -->"])
        assert len(errors) == 1 and "Parse error" in errors[0]
    finally:
        visit.close()


def test_colour_scheme_toggle_and_screenshots(browser, base_url):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visit = Visit(browser, base_url)
    try:
        page = visit.page
        scheme = "document.body.getAttribute('data-md-color-scheme')"
        assert page.evaluate(scheme) == "default"
        page.wait_for_timeout(500)
        page.screenshot(path=SCREENSHOTS / "landing-light.png", full_page=False)
        page.locator("form[data-md-component=palette] label:visible").first.click()
        page.wait_for_function(f"{scheme} === 'slate'", timeout=5_000)
        page.wait_for_timeout(500)
        page.screenshot(path=SCREENSHOTS / "landing-dark.png", full_page=False)
        page.locator("form[data-md-component=palette] label:visible").first.click()
        page.wait_for_function(f"{scheme} === 'default'", timeout=5_000)
        assert visit.errors == []
    finally:
        visit.close()
    for name in ("landing-light.png", "landing-dark.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, f"{name} looks empty"
