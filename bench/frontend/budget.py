"""Page weight and time to the first question of the respondent's questionnaire pages (issue 6).

Run by hand (not part of the test suite)::

    .venv/bin/python bench/frontend/budget.py [--runs 3] [--output bench/results/frontend.txt]

It builds a fielded wave from the real item banks in a throwaway SQLite database, collects the
static files as production does (whitenoise's compressed manifest storage, so the browser gets
gzip), serves the site with Django's threaded WSGI server, and opens each questionnaire page in
Debian's Chromium emulating an iPhone 13 (390×664 viewport, 3× pixels, touch), with the CPU
throttled 4×, 400 ms latency and 400 kbit/s each way, and the cache disabled, all through the
DevTools protocol.  It reports

* bytes: what the browser transferred (`encodedDataLength`: compressed bodies plus headers) for
  the page, its CSS and scripts, until the first question is answerable — the instrument is in
  the page (one HTML document per questionnaire), so this is HTML + CSS + JS + instrument;
* ms: from navigation start to the `suyang-first-question` mark, which survey.js sets once the
  first screen is shown, answers kept on the phone are restored and the pager works; the script
  then checks that the question's inputs are visible and enabled.

Budgets: 60 KB (61,440 bytes) and 2,000 ms.  The exit status is 1 when a page is over either.
The worker installed afterwards fetches the same static files and the other questionnaires in
the background; that is not part of the first load (and comes from the HTTP cache in normal use).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUDGET_BYTES = 60 * 1024
BUDGET_MS = 2000.0
THROTTLE = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}
CPU_SLOWDOWN = 4
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
READY = "suyang-first-question"
LOAD = os.getloadavg()


def setup(db: Path, static_root: Path) -> None:
    """Configure Django on DB with production's static storage, migrate and collect the static files."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the ORM next to Playwright's event loop
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    django.setup()
    settings.STATIC_ROOT = str(static_root)
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def fielded_invitation() -> tuple[str, Any]:
    """Return a live invitation token of a fielded wave (the demo's banks and eligibility rules) and its survey."""
    from tests.frontend.survey_setup import build_survey

    survey = build_survey()
    return survey.token, survey


def answer_demographics(survey: Any) -> None:
    """Store the household's demographics so that its tests' pages open."""
    import uuid

    from questionnaires.services import Submission, response_submit
    from tests.frontend.survey_setup import DEMOGRAPHICS_ADULT

    response_submit(
        wave=survey.wave, version=survey.versions["demographics"], case=survey.case,
        submission=Submission(client_id=uuid.uuid4(), answers=DEMOGRAPHICS_ADULT, language="zh-hans"),
    )


def serve() -> tuple[Any, str]:
    """Start the site (whitenoise for static files, GZipMiddleware for pages) on a free port."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# Playwright's "iPhone 13" descriptor (playwright.devices), in Chinese.
IPHONE_13: dict[str, Any] = {
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                  "Version/15.0 Mobile/15E148 Safari/604.1",
    "viewport": {"width": 390, "height": 664},
    "screen": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}


def measure(browser: Any, device: dict[str, Any], url: str) -> dict[str, Any]:
    """Open URL once, cold, throttled; return bytes and ms to the first answerable question, per resource."""
    context = browser.new_context(**device)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    resources: dict[str, dict[str, Any]] = {}
    cdp.on("Network.responseReceived", lambda e: resources.setdefault(e["requestId"], {}).update(
        url=e["response"]["url"], status=e["response"]["status"],
        encoding={k.lower(): v for k, v in e["response"]["headers"].items()}.get("content-encoding", ""),
    ))
    cdp.on("Network.requestWillBeSent", lambda e: resources.setdefault(e["requestId"], {}).setdefault("sent", e["timestamp"]))
    cdp.on("Network.loadingFinished", lambda e: resources.setdefault(e["requestId"], {}).update(bytes=e["encodedDataLength"]))
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", THROTTLE)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    page.goto(url, wait_until="commit", timeout=60_000)
    page.wait_for_function(f"() => performance.getEntriesByName('{READY}').length > 0", timeout=60_000)
    ms = page.evaluate(f"() => performance.getEntriesByName('{READY}')[0].startTime")
    answerable = page.evaluate(
        """() => { const q = document.querySelector('#questionnaire.ready .question.on:not(.note)');
                   const i = q && q.querySelector('input');
                   return !!(i && !i.disabled && q.getBoundingClientRect().height > 0); }"""
    )
    first_paint = page.evaluate("() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null")
    phases = page.evaluate(
        """() => { const n = performance.getEntriesByType('navigation')[0];
                   const r = performance.getEntriesByType('resource').filter(e => /\\/static\\//.test(e.name));
                   return {html: n.responseEnd, static: Math.max(0, ...r.map(e => e.responseEnd)), dcl: n.domContentLoadedEventEnd}; }"""
    )
    # The first load: what was asked for before the first question was answerable (the worker
    # and the pages it keeps for offline use come after).
    start = min(r["sent"] for r in resources.values() if "sent" in r)
    loaded = [dict(r) for r in resources.values() if "bytes" in r and (r["sent"] - start) * 1000 <= ms]
    context.close()
    return {"url": url, "ms": ms, "fcp": first_paint, "answerable": answerable, "phases": phases,
            "bytes": sum(r["bytes"] for r in loaded), "resources": loaded}


def warm(browser: Any, urls: list[str]) -> None:
    """Open URLS once unthrottled: a production server has its templates and forms compiled already."""
    context = browser.new_context()
    page = context.new_page()
    for url in urls:
        page.goto(url)
    context.close()


def report(results: dict[str, list[dict[str, Any]]], runs: int) -> tuple[str, bool]:
    lines, ok = [], True
    lines.append(f"Suyang questionnaire pages, first load, {runs} cold runs each (median; max in brackets)")
    lines.append(f"Chromium {chromium_version()} as iPhone 13, CPU {CPU_SLOWDOWN}x slower, 400 ms latency, "
                 f"400 kbit/s each way, cache disabled (CDP); {platform.machine()}, {os.cpu_count()} CPUs")
    lines.append(f"machine load average (1 min) before and after: {LOAD[0]:.1f}, {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    lines.append(f"budgets: {BUDGET_BYTES / 1024:.0f} KB transferred, {BUDGET_MS:.0f} ms to the first answerable question")
    lines.append("")
    lines.append(f"{'page':<20} {'KB':>7} {'of budget':>10} {'ms':>14} {'of budget':>10} {'first paint':>12}")
    for code, runs_ in results.items():
        kb = statistics.median(r["bytes"] for r in runs_) / 1024
        ms = statistics.median(r["ms"] for r in runs_)
        worst_ms = max(r["ms"] for r in runs_)
        worst_kb = max(r["bytes"] for r in runs_) / 1024
        fcp = statistics.median(r["fcp"] or 0 for r in runs_)
        ok = ok and worst_kb * 1024 <= BUDGET_BYTES and worst_ms <= BUDGET_MS and all(r["answerable"] for r in runs_)
        lines.append(f"{code:<20} {kb:7.1f} {kb * 1024 / BUDGET_BYTES:9.0%} {ms:7.0f} ({worst_ms:4.0f}) "
                     f"{ms / BUDGET_MS:9.0%} {fcp:9.0f} ms")
    lines.append("")
    lines.append("where the time goes (last run, ms from navigation start): page received, last static file "
                 "received, DOMContentLoaded done, first question answerable")
    for code, runs_ in results.items():
        p = runs_[-1]["phases"]
        lines.append(f"  {code:<18} {p['html']:6.0f} {p['static']:6.0f} {p['dcl']:6.0f} {runs_[-1]['ms']:6.0f}")
    lines.append("")
    lines.append("resources of the last run of each page (bytes on the wire, content-encoding):")
    for code, runs_ in results.items():
        for r in runs_[-1]["resources"]:
            name = r["url"].split("/", 3)[-1].split("?")[0]
            lines.append(f"  {code:<18} {r['bytes']:7d}  {r.get('encoding') or '-':<5} /{name[:60]}")
    lines.append("")
    lines.append("within budget" if ok else "OVER BUDGET")
    return "\n".join(lines), ok


def chromium_version() -> str:
    try:
        return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.split()[1]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "frontend.txt")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="suyang-bench-frontend-"))
    setup(work / "db.sqlite3", work / "static")
    token, survey = fielded_invitation()
    server, base = serve()
    from playwright.sync_api import sync_playwright

    results: dict[str, list[dict[str, Any]]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        device = IPHONE_13
        warm(browser, [f"{base}/r/{token}/"])
        warm(browser, [f"{base}/r/{token}/demographics/"])
        results["demographics"] = [measure(browser, device, f"{base}/r/{token}/demographics/") for _ in range(args.runs)]
        answer_demographics(survey)
        for code in ("science_literacy", "health_literacy"):
            warm(browser, [f"{base}/r/{token}/{code}/"])
            results[code] = [measure(browser, device, f"{base}/r/{token}/{code}/") for _ in range(args.runs)]
        browser.close()
    server.shutdown()
    text, ok = report(results, args.runs)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(f"{stamp}\n{text}\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
