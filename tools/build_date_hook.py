"""One build date per build: MkDocs asks the clock for every page it renders (the footer's
`build_date_utc`) and once more for each page's `update_date` (the sitemap's lastmod), so a build
that runs across midnight UTC dated its pages two ways. Pinning SOURCE_DATE_EPOCH, which MkDocs
reads in place of the clock, at the start of each build gives every call the same instant. A date
the caller set (for a reproducible build) is kept."""

import os
import time

_PINNED = "MODERN_NLP_PINNED_BUILD_EPOCH"  # marks the value as ours, so `mkdocs serve` re-pins


def on_pre_build(config) -> None:
    if "SOURCE_DATE_EPOCH" in os.environ and _PINNED not in os.environ:
        return
    os.environ["SOURCE_DATE_EPOCH"] = os.environ[_PINNED] = str(int(time.time()))
