"""MkDocs hook: the install box on every page names the address of the package's wheel.

`includes/install_box.md` (included once in each chapter's overview and on the landing page)
says `pip install "modern-nlp-transformers[check,data] @ __WHEEL_URL__"`. The site URL is not
fixed (the Pages workflow passes it), so this hook writes it in: site_url + dist/ + the wheel's
file name, which follows from pyproject.toml's name and `snippets.__version__`. The Pages
workflow builds that wheel into site/dist/ and checks that the file it built has this name
(`python tools/install_box_hook.py` prints it).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = "__WHEEL_URL__"


def wheel_name() -> str:
    """The file name `pip wheel .` gives the package: {name}-{version}-py3-none-any.whl."""
    name = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    init = (ROOT / "snippets" / "__init__.py").read_text(encoding="utf-8")
    version = re.search(r'^__version__ = "([^"]+)"', init, re.M).group(1)
    # wheel file names spell the project name in lower case with underscores (PEP 427, PEP 503)
    return f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-py3-none-any.whl"


def wheel_url(site_url: str | None) -> str:
    return f"{(site_url or '/').rstrip('/')}/dist/{wheel_name()}"


def on_page_content(html: str, page, config, files) -> str:
    if PLACEHOLDER not in html:  # pages without the box need neither pyproject.toml nor snippets/
        return html
    return html.replace(PLACEHOLDER, wheel_url(config.site_url))


if __name__ == "__main__":
    print(wheel_name())
