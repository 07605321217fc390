"""A real Chromium (the system's, never a downloaded one) on a phone-sized screen."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM must still be
# usable from that thread (the Makefile sets the same for `make test`).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"


class InFlight:
    """Counts requests the live server is still answering.

    Closing a browser context does not wait for the server: a service worker's precache fetch
    can still be reading the database (on SQLite, through the connection the live server
    shares with the test) when pytest-django flushes the tables, which then fails with
    "database table is locked". Each page fixture waits for the count to reach zero.
    """

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def started(self, **_: Any) -> None:
        with self.lock:
            self.count += 1

    def finished(self, **_: Any) -> None:
        with self.lock:
            self.count = max(0, self.count - 1)

    def wait_idle(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            with self.lock:
                idle = self.count == 0
            now = time.monotonic()
            if not idle:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= 0.2:  # a request accepted just before the close has begun by now
                return
            time.sleep(0.05)
        raise AssertionError(f"the live server still answers {self.count} request(s) after {timeout:.0f} s")


@pytest.fixture(scope="session")
def in_flight() -> Iterator[InFlight]:
    from django.core.signals import request_finished, request_started

    counter = InFlight()
    request_started.connect(counter.started, dispatch_uid="e2e-in-flight-started")
    request_finished.connect(counter.finished, dispatch_uid="e2e-in-flight-finished")
    yield counter
    request_started.disconnect(dispatch_uid="e2e-in-flight-started")
    request_finished.disconnect(dispatch_uid="e2e-in-flight-finished")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser: Any, in_flight: InFlight) -> Iterator[Any]:
    """A fresh phone-sized page (own cookies, so language and login do not leak between tests)."""
    context = browser.new_context(**PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
    in_flight.wait_idle()


@pytest.fixture
def phone_without_js(browser: Any, in_flight: InFlight) -> Iterator[Any]:
    """A phone whose browser runs no scripts: the respondent pages stay plain forms the server checks."""
    context = browser.new_context(**PHONE, java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
    in_flight.wait_idle()


@pytest.fixture
def desktop(browser: Any, in_flight: InFlight) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
    in_flight.wait_idle()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
