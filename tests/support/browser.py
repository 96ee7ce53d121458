"""Debian's Chromium driven by Playwright, and the app served on loopback for it.

The browser is never downloaded: tests use /usr/bin/chromium. Without it they are skipped
with the reason shown, except under ``UMIC_REQUIRE_ALL_TESTS=1`` (CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The flags this machine's network needs (no background connections) and a clean profile.
CHROMIUM_ARGS = [
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}


def require_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    reason = "Chromium is not installed (apt-get install chromium): browser tests skipped"
    if os.environ.get("UMIC_REQUIRE_ALL_TESTS") == "1":
        pytest.fail(reason + " (required because UMIC_REQUIRE_ALL_TESTS=1)", pytrace=False)
    pytest.skip(reason)


@contextmanager
def launched() -> Iterator:
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def served(app, host: str = "127.0.0.1") -> Iterator[str]:
    """The app on a free loopback port, in a thread; yields its base URL."""
    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
