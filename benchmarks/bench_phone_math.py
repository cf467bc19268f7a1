"""How soon a reader on a slow phone sees typeset math: the chapter with the most formulas,
loaded from the built site (make build) in Chromium with CPU 4x slower, 9 Mbps and 60 ms
latency (Chrome DevTools emulation). Goal: every formula typeset within 3.0 s of navigation.
Writes results/phone_math.md. A timing, so a benchmark and not a test."""

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


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def time_to_math(browser, url: str) -> float:
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 60, "downloadThroughput": 9e6 / 8, "uploadThroughput": 9e6 / 8})
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
        page.goto(url, wait_until="commit")
        page.wait_for_function(
            "() => { const all = document.querySelectorAll('.arithmatex'); return all.length > 0 && "
            "[...all].every(e => e.querySelector('.katex')) }", timeout=60_000, polling=100)
        return page.evaluate("performance.now()") / 1000
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
    median = statistics.median(runs)
    write_markdown("phone_math.md", [
        "| Page | Formulas typeset after (median of 3) | Runs | Goal | Met |",
        "|---|---:|---|---:|---|",
        f"| /{path} | {median:.2f} s | {', '.join(f'{r:.2f}' for r in runs)} s | {GOAL_S:.1f} s | "
        f"{'yes' if median <= GOAL_S else 'no'} |",
        "",
        f"{machine()}; load average {before} before, {load_average()} after.",
    ])
