"""Requests per second of the citizens' pages against a bare Flask endpoint, same gunicorn.

    .venv/bin/python benchmarks/throughput.py                 # 8 rounds x 8 s per target
    .venv/bin/python benchmarks/throughput.py --rounds 3 --seconds 5

Three gunicorn servers with the same settings (``--workers 2``, sync workers, the project's
gunicorn and ``wsgi:app``; ``gunicorn_conf.py`` pins the app's clock in each worker): the app
on the small database (demo + ~100 past bookings), the bare app (``bare_app.py``), and the
app on the large one (demo + 100,000). The databases are ``bookings_fill``'s, prepared as
``free_times.py`` prepares them and reused. The app gets its settings from the environment
as in production: ``UMIC_SECRET_KEY`` (random), ``UMIC_SQLALCHEMY_DATABASE_URI``,
``UMIC_BASE_URL``, ``UMIC_MAIL_SUPPRESS_SEND``; rate limits keep their production defaults
unless a measured route is limited, in which case that limit is raised for the run (the
report says so).

Each server is warmed up, then ``wrk`` (one thread, 8 connections) measures every target in
shuffled rounds: the bare endpoint, the day-times fragment (``HX-Request: true``), the town
page and the home page ``/reserva/`` on the small database, and the fragment and the town
page on the large one. Each target's rate is divided by the bare endpoint's rate *of the same
round*, so a noisy neighbour moves both. Printed: requests/s (median, min–max), the ratio to
the bare endpoint (median, min–max), median p50 and p99 latency (they include queueing: 8
connections on 2 workers), and the responses wrk counts as errors (status ≥ 400) and socket
errors. The servers are stopped at the end, also on Ctrl-C or a failure.

``wrk`` is a separate program: ``apt-get install wrk`` (Debian, Ubuntu) or ``brew install
wrk`` (macOS).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from pathlib import Path

# This folder goes last on the path, not first: a script here named like a standard module
# must not hide the standard one.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.append(str(HERE))

import statistics  # noqa: E402

import bookings_fill  # noqa: E402

ROOT = HERE.parent
GUNICORN_SETTINGS = ["--workers", "2", "--worker-class", "sync"]
CONCURRENCY = 8
#: What a raised limit becomes, should a measured route be rate limited.
RAISED_LIMIT = "1000000 per minute;100000000 per day"


@dataclass
class Server:
    name: str
    app: str
    env: dict
    extra: list = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Target:
    name: str
    server: Server
    path: str
    headers: dict = field(default_factory=dict)
    bytes: int = 0
    rounds: list = field(default_factory=list)  # dicts: rps, p50, p99, errors, socket

    @property
    def url(self) -> str:
        return self.server.base + self.path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(server: Server, logs: Path) -> None:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server.port = free_port()
    server.log = logs / f"{server.name}.log"
    command = [
        str(gunicorn),
        "-c",
        str(HERE / "gunicorn_conf.py"),
        *GUNICORN_SETTINGS,
        "--bind",
        f"127.0.0.1:{server.port}",
        "--chdir",
        str(ROOT),
        *server.extra,
        server.app,
    ]
    with open(server.log, "wb") as log:
        # A session of its own: stopped as a group (master and workers) by its own id.
        server.process = subprocess.Popen(
            command, env=server.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(server: Server) -> None:
    process = server.process
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def fetch(url: str, headers: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_up(server: Server, path: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} stopped:\n{server.log.read_text()[-3000:]}")
        try:
            fetch(server.base + path, {})
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{server.name} did not answer in {seconds} s:\n{server.log.read_text()}")


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * UNITS[unit]


def wrk(target: Target, seconds: int, log: Path | None = None) -> dict:
    # A 30 s timeout: a slow response is measured, not dropped as a socket timeout.
    command = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{seconds}s", "--timeout", "30s", "--latency"]
    for name, value in target.headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*command, target.url], capture_output=True, text=True, check=True
    ).stdout
    if log is not None:
        with open(log, "a") as file:
            file.write(f"== {target.name}\n{output}\n")
    latency = dict(re.findall(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+(?:us|ms|s|m))\s*$", output, re.M))
    if "50" not in latency or "99" not in latency:
        raise SystemExit(f"could not read wrk's output for {target.name}:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "p50": _ms(latency["50"]),
        "p99": _ms(latency["99"]),
        "errors": int(errors.group(1)) if errors else 0,
        "socket": sum(int(n) for n in sockets.groups()) if sockets else 0,
    }


def limited_routes(paths: list[str]) -> list[str]:
    """The rate-limit settings (``RATELIMIT_*``) that cover a GET of any of these paths."""
    from umic import create_app
    from umic.config import TestConfig
    from umic.web.limits import RULES

    app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    adapter = app.url_map.bind("127.0.0.1")
    keys = set()
    for path in paths:
        endpoint, _args = adapter.match(path.split("?")[0], method="GET")
        for rule in RULES:
            if endpoint in rule.endpoints and (rule.methods is None or "GET" in rule.methods):
                keys.add(rule.config_key)
    return sorted(keys)


def spread(values: list[float], fmt: str) -> str:
    """Median (min–max)."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:{fmt}} ({low:{fmt}}–{high:{fmt}})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bookings_fill.add_database_arguments(parser)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=8, help="per target and round")
    parser.add_argument("--warm-up", type=int, default=3, help="seconds per target, not counted")
    parser.add_argument("--town", default="gelida")
    parser.add_argument("--day", help="default: 9 days after NOW (a Wednesday)")
    options = parser.parse_args()

    if shutil.which("wrk") is None:
        raise SystemExit(
            "wrk is not installed. Install it with `apt-get install wrk` (Debian, Ubuntu; "
            "as root or with sudo) or `brew install wrk` (macOS), then run this again."
        )
    for url, count in (
        (options.small, options.small_bookings),
        (options.large, options.large_bookings),
    ):
        bookings_fill.prepare(url, count, seed=options.seed, fresh=options.fresh)

    now = bookings_fill.NOW
    today = now.date()
    day = options.day or (today + timedelta(days=9)).isoformat()
    fragment = f"/reserva/{options.town}/?des={today.isoformat()}&dia={day}"
    town = f"/reserva/{options.town}/"
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("UMIC_", "FLASK_", "BENCHMARK_"))
    }
    raised = limited_routes([fragment, town, "/reserva/"])

    def app_env(url: str) -> dict:
        env = {
            **base_env,
            "UMIC_SECRET_KEY": secrets.token_hex(32),
            "UMIC_SQLALCHEMY_DATABASE_URI": url,
            "UMIC_MAIL_SUPPRESS_SEND": "true",
            "BENCHMARK_NOW": now.isoformat(),
        }
        for key in raised:
            env[f"UMIC_{key}"] = RAISED_LIMIT
        return env

    small = Server("app-small", "wsgi:app", app_env(options.small))
    bare = Server("bare", "bare_app:app", base_env, ["--pythonpath", str(HERE)])
    large = Server("app-large", "wsgi:app", app_env(options.large))
    htmx = {"HX-Request": "true"}
    targets = [
        Target("bare Flask endpoint", bare, "/"),
        Target("day-times fragment", small, fragment, htmx),
        Target("town page", small, town),
        Target("home /reserva/", small, "/reserva/"),
        Target("fragment, 100k bookings", large, fragment, htmx),
        Target("town page, 100k bookings", large, town),
    ]
    servers = [small, bare, large]

    def terminate(signum, _frame):
        raise SystemExit(f"stopped by signal {signum}")

    # Stop the servers however this ends: Ctrl-C (even when started where SIGINT is ignored,
    # as in a background job), kill, or a closed terminal.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    logs = Path(tempfile.mkdtemp(prefix="umic-throughput-"))
    try:
        for server in servers:
            start(server, logs)
        for server in servers:
            wait_until_up(server, "/")
        options.wrk_log = logs / "wrk.txt"
        measure(options, targets, day, raised)
    finally:
        for server in servers:
            stop(server)
        print(f"\nservers stopped (logs in {logs})")


def measure(options, targets: list[Target], day: str, raised: list[str]) -> None:
    for target in targets:
        status, body = fetch(target.url, target.headers)
        if status != 200:
            raise SystemExit(f"{target.name}: {target.url} answered {status}")
        target.bytes = len(body)
    fragment_body = fetch(targets[1].url, targets[1].headers)[1]
    times = len(re.findall(rb'name="slot" value=', fragment_body))
    if not times:
        raise SystemExit(f"no free time on {day}: choose another --day")
    print(
        f"\ngunicorn {' '.join(GUNICORN_SETTINGS)}; wrk -t1 -c{CONCURRENCY}; "
        f"{options.rounds} rounds x {options.seconds} s per target, shuffled; clock frozen at "
        f"{bookings_fill.NOW.isoformat()}; the fragment shows {day} ({times} free times)",
        flush=True,
    )
    if raised:
        print(f"Rate limits RAISED for this run: {', '.join(raised)} = {RAISED_LIMIT!r}")
    else:
        print(
            "Rate limits at their production defaults: none of the measured GET routes is "
            "rate limited (a 429 would show as an error below)."
        )
    for target in targets:
        wrk(target, options.warm_up)
    rng = random.Random(options.seed)
    began = time.monotonic()
    for number in range(options.rounds):
        order = list(targets)
        rng.shuffle(order)
        for target in order:
            target.rounds.append(wrk(target, options.seconds, options.wrk_log))
        bare = targets[0].rounds[-1]["rps"]
        shown = ", ".join(f"{t.name} {t.rounds[-1]['rps']:.0f}" for t in targets)
        print(f"  round {number + 1}: {shown} (bare {bare:.0f}) req/s", flush=True)
    print(f"  measured in {time.monotonic() - began:.0f} s")
    report(targets)


def report(targets: list[Target]) -> None:
    bare = [r["rps"] for r in targets[0].rounds]
    print(
        "\n| target | bytes | req/s, median (min–max) | ÷ bare, median (min–max) "
        "| p50 / p99 ms | errors (≥ 400) / socket |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for target in targets:
        rps = [r["rps"] for r in target.rounds]
        ratios = [a / b for a, b in zip(rps, bare, strict=True)]
        p50 = statistics.median(r["p50"] for r in target.rounds)
        p99 = statistics.median(r["p99"] for r in target.rounds)
        errors = sum(r["errors"] for r in target.rounds)
        sockets = sum(r["socket"] for r in target.rounds)
        label = f"`{target.path}`" if target.server.name != "bare" else "`/`"
        shown = spread(rps, ",.0f" if min(rps) >= 100 else ".1f")
        print(
            f"| {target.name} {label} | {target.bytes:,} | {shown} | "
            f"**{spread(ratios, '.3f')}** | {p50:.1f} / {p99:.1f} | {errors} / {sockets} |"
        )
    by_name = {t.name: [r["rps"] for r in t.rounds] for t in targets}
    large_small = [
        a / b
        for a, b in zip(
            by_name["fragment, 100k bookings"], by_name["day-times fragment"], strict=True
        )
    ]
    fragment = statistics.median(
        a / b for a, b in zip(by_name["day-times fragment"], bare, strict=True)
    )
    print(
        "\nFragment at 100k ÷ fragment at ~100 bookings, req/s per round: "
        f"{spread(large_small, '.2f')}"
    )
    print(
        f"Done-when bar, fragment ÷ bare endpoint ≥ 0.25 (aim 0.5): {fragment:.3f} "
        f"({'met' if fragment >= 0.25 else 'NOT met'})."
    )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted")
