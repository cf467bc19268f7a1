"""How soon a reader on a slow phone sees typeset math: the chapter with the most formulas,
loaded from the built site (make build) in Chromium with CPU 4x slower, 9 Mbps and 60 ms
latency (Chrome DevTools emulation). Goal: every formula typeset within 3.0 s of navigation.
Writes results/phone_math.md. A timing, so a benchmark and not a test.

"Typeset" means: the article is parsed, every `.arithmatex` element holds KaTeX's output,
and KaTeX's main and math fonts are loaded (its CSS hides a formula's text until they arrive),
checked before every frame the browser renders: the time is that of the first frame a reader
could see it in. The first contentful paint and the arrival of Mermaid's bundle are reported
too: the bundle must hold back neither.
"""

import functools
import http.server
import shutil
import statistics
import threading

from benchmarks.report import load_average, machine, write_markdown
from tests.site.test_browser import BROWSERS
from tests.site.test_reader import PHONE, heaviest_chapter
from tools.sitepages import SITE

GOAL_S = 3.0
TYPESET = """() => {
  // The footer follows the article: until the parser reaches it, formulas may still be missing.
  if (!document.querySelector('.md-footer')) return false;
  const all = document.querySelectorAll('.arithmatex');
  return all.length > 0 && [...all].every(e => e.querySelector('.katex'))
    && [...document.fonts].some(f => f.family.includes('KaTeX'))
    && document.fonts.check('1em KaTeX_Main') && document.fonts.check('1em KaTeX_Math');
}"""
# Checked before every frame the browser renders: the first frame in which the condition holds.
RECORD = f"""(() => {{
  const typeset = {TYPESET};
  const check = () => {{
    if (document.documentElement && typeset()) window.__typeset = performance.now();
    else requestAnimationFrame(check);
  }};
  requestAnimationFrame(check);
}})();"""
PAINT = "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
MERMAID = """() => { const e = performance.getEntriesByType('resource').find(e => e.name.includes('mermaid.min.js'));
  return e && e.responseEnd > 0 ? e.responseEnd : null }"""
BYTES = """() => performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
  .reduce((n, e) => n + (e.encodedBodySize || 0), 0)"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def time_to_math(browser, url: str) -> tuple[float, float, float | None, int, int]:
    """Seconds to every formula typeset, to the first contentful paint and to Mermaid's bundle
    arriving (None on a page without a diagram); the page's formulas; bytes transferred."""
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 60, "downloadThroughput": 9e6 / 8, "uploadThroughput": 9e6 / 8})
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
        page.add_init_script(RECORD)
        page.goto(url, wait_until="commit")
        page.wait_for_function("window.__typeset !== undefined", timeout=120_000, polling=100)
        typeset = page.evaluate("window.__typeset") / 1000
        page.wait_for_function(f"({PAINT})() !== null", timeout=60_000)
        paint = page.evaluate(PAINT) / 1000
        mermaid = None
        if page.evaluate("document.querySelector('.mermaid') !== null"):
            page.wait_for_function(f"({MERMAID})() !== null", timeout=60_000, polling=100)
            mermaid = page.evaluate(MERMAID) / 1000
        formulas = page.evaluate("document.querySelectorAll('.arithmatex').length")
        return typeset, paint, mermaid, formulas, page.evaluate(BYTES)
    finally:
        context.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    path = heaviest_chapter()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    before = load_average()
    executable = next(shutil.which(b) for b in BROWSERS if shutil.which(b))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        runs = [time_to_math(browser, f"http://127.0.0.1:{server.server_address[1]}/{path}") for _ in range(3)]
        browser.close()
    server.shutdown()
    after = load_average()
    typeset = statistics.median(r[0] for r in runs)
    paint = statistics.median(r[1] for r in runs)
    mermaid = "no diagram" if runs[0][2] is None else f"{statistics.median(r[2] for r in runs):.2f} s"
    busy = max(float(x) for x in (before.split(" / ")[0], after.split(" / ")[0])) > 2
    write_markdown("phone_math.md", [
        "| Page | Formulas | Every formula typeset (median of 3) | Runs | First paint (median) "
        "| Mermaid's bundle in (median) | Transferred | Goal | Met |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|",
        f"| /{path} | {runs[0][3]} | {typeset:.2f} s | {', '.join(f'{r[0]:.2f}' for r in runs)} s "
        f"| {paint:.2f} s | {mermaid} | {runs[0][4] / 1e6:.2f} MB | {GOAL_S:.1f} s "
        f"| {'yes' if typeset <= GOAL_S else 'no'} |",
        "",
        f"{machine()}; load average {before} before, {after} after"
        + (" (above the 2 cores: the machine was busy, the times are pessimistic)." if busy else "."),
    ])
