"""What a citizen's phone downloads on a first visit, with compression off and on.

    .venv/bin/python benchmarks/first_visit.py            # a scratch SQLite file with demo data
    .venv/bin/python benchmarks/first_visit.py --database postgresql+psycopg://.../umic_scratch

The app runs under gunicorn (one worker) twice on the same data, configured like production
by environment variables: ``UMIC_COMPRESS=false`` ("before") and the default ("after"). Debian's
Chromium (``/usr/bin/chromium``, driven by Playwright; the browser is never downloaded) opens
each page in a fresh context, so with a cold cache, at a phone's size (360 × 740), and adds
up what came over the wire: every response's ``encodedDataLength`` from the DevTools
protocol (headers and body as sent, compressed when they were). Each page is loaded
``--runs`` times; the median is shown (the sizes barely move: the CSRF token and dates).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

from load_journey import start_gunicorn  # the same server start and stop as the load test
from load_journey import stop_gunicorn

ROOT = Path(__file__).resolve().parents[1]
PHONE = {"width": 360, "height": 740}
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(database: str, env: dict[str, str]) -> None:
    flask = [sys.executable, "-m", "flask", "--app", "umic"]
    for command in (["db", "upgrade"], ["demo", "load", "--if-empty"]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True)


def first_visit(browser, url: str) -> dict:
    """One cold load: requests, wire bytes, and per resource (name, encoding, wire bytes)."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    names: dict[str, tuple[str, str]] = {}
    sizes: dict[str, int] = {}

    def on_response(event):
        response = event["response"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        name = response["url"].split("/")[-1].split("?")[0] or "(page)"
        names[event["requestId"]] = (name, headers.get("content-encoding", "none"))

    cdp.on("Network.responseReceived", on_response)
    cdp.on(
        "Network.loadingFinished",
        lambda event: sizes.__setitem__(event["requestId"], int(event["encodedDataLength"])),
    )
    page.goto(url, wait_until="networkidle")
    context.close()
    resources = [(*names.get(rid, ("?", "?")), size) for rid, size in sizes.items()]
    return {"requests": len(sizes), "bytes": sum(sizes.values()), "resources": resources}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--town", default="gelida")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="umic-first-visit-")
    database = args.database or f"sqlite:///{folder}/umic.db"
    env = dict(os.environ)
    env.update(
        {
            "UMIC_SECRET_KEY": secrets.token_hex(32),
            "UMIC_SQLALCHEMY_DATABASE_URI": database,
            "UMIC_MAIL_SUPPRESS_SEND": "true",
            "FIRST_VISIT_FOLDER": folder,
        }
    )
    try:
        prepare(database, env)
        results, version = measure(env, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(results, version, args)
    return 0


PAGES = {"/reserva/": "/reserva/", "/reserva/<town>/": "/reserva/{town}/"}


def measure(env: dict[str, str], args) -> tuple[dict, str]:
    from playwright.sync_api import sync_playwright

    pages = {label: path.format(town=args.town) for label, path in PAGES.items()}
    results: dict[tuple[str, str], list[dict]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        for setting, compress in (("before", "false"), ("after", "true")):
            port = free_port()
            log = str(Path(env["FIRST_VISIT_FOLDER"]) / f"gunicorn-{setting}.log")
            server = start_gunicorn(
                1, port, {**env, "UMIC_COMPRESS": compress, "LOAD_GUNICORN_LOG": log}
            )
            try:
                for label, path in pages.items():
                    results[(label, setting)] = [
                        first_visit(browser, f"http://127.0.0.1:{port}{path}")
                        for _ in range(args.runs)
                    ]
            finally:
                stop_gunicorn(server)
        version = browser.version
        browser.close()
    return results, version


def report(results: dict, version: str, args) -> None:
    pages = PAGES
    print(
        f"Chromium {version}, {PHONE['width']}×{PHONE['height']}, cold cache, median of "
        f"{args.runs} loads; bytes as sent (headers and body).\n"
    )
    print("| page | requests | before: KB | after: KB | after ÷ before |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label in pages:
        before = median(r["bytes"] for r in results[(label, "before")])
        after = median(r["bytes"] for r in results[(label, "after")])
        requests = results[(label, "after")][0]["requests"]
        print(
            f"| `{label}` | {requests} | {before / 1000:.1f} | {after / 1000:.1f} | "
            f"{after / before:.2f} |"
        )
    print("\n| page | resource | before: encoding, KB | after: encoding, KB |")
    print("| --- | --- | --- | --- |")
    for label in pages:
        before = sorted(results[(label, "before")][0]["resources"])
        after = {name: (enc, size) for name, enc, size in results[(label, "after")][0]["resources"]}
        for name, encoding, size in before:
            enc_after, size_after = after.get(name, ("?", 0))
            print(
                f"| `{label}` | {name} | {encoding}, {size / 1000:.1f} | "
                f"{enc_after}, {size_after / 1000:.1f} |"
            )


if __name__ == "__main__":
    sys.exit(main())
