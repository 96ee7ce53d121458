"""A real OpenAI-compatible model server for the tests: a separate process, standard library only.

    python tests/support/llm_server.py --port N --record FILE [--delay S] [--status CODE] [--empty]

It answers ``POST /v1/chat/completions`` in the shape the OpenAI API (and vLLM, Ollama) use,
and ``GET /v1/models``. Each request body is written to FILE as one JSON line, so a test reads
exactly what the app sent. The answer is deterministic: "Esborrany: " (when the system prompt
asks for a draft: "esborrany", "borrador") or "Resum: ", and the first twelve words of the user
message. ``--delay`` answers that many seconds late (the app's timeout), ``--status`` answers
every completion with that HTTP error, ``--empty`` with an empty message. A request header
``X-Test-Delay`` or ``X-Test-Status`` does the same for one request.

The fixture ``start_llm_server`` (``LLMServer.start``) runs it on a free loopback port, waits
until it answers, and stops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

MODEL = "test-model"


class _Handler(BaseHTTPRequestHandler):
    server_version = "llm-test/1"
    options: argparse.Namespace
    lock = threading.Lock()

    def log_message(self, format, *args):  # quiet
        pass

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        with self.lock, open(self.options.record, "a", encoding="utf-8") as record:
            record.write(raw.decode("utf-8", "replace").replace("\n", " ") + "\n")
        delay = float(self.headers.get("X-Test-Delay") or self.options.delay)
        status = int(self.headers.get("X-Test-Status") or self.options.status)
        if delay:
            time.sleep(delay)
        if status != 200:
            self._send(status, {"error": {"message": "test failure", "type": "server_error"}})
            return
        body = json.loads(raw or b"{}")
        messages = body.get("messages") or []
        system = " ".join(m.get("content", "") for m in messages if m.get("role") == "system")
        user = [m.get("content", "") for m in messages if m.get("role") == "user"]
        words = (user[-1] if user else "").split()[:12]
        drafting = any(word in system.lower() for word in ("esborrany", "borrador", "draft"))
        prefix = "Esborrany: " if drafting else "Resum: "
        text = "" if self.options.empty else prefix + " ".join(words)
        self._send(
            200,
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--empty", action="store_true")
    options = parser.parse_args(argv)
    _Handler.options = options
    server = ThreadingHTTPServer(("127.0.0.1", options.port), _Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    finally:
        server.server_close()


@dataclass
class LLMServer:
    """A running ``llm_server.py`` process and the file it records requests to."""

    port: int
    record: Path
    process: subprocess.Popen = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def requests(self) -> list[dict]:
        """Every request body the server received, in order."""
        if not self.record.exists():
            return []
        lines = self.record.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    @classmethod
    def start(cls, port: int, record: Path, *extra: str) -> LLMServer:
        process = subprocess.Popen(
            [sys.executable, __file__, "--port", str(port), "--record", str(record), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = cls(port=port, record=record, process=process)
        deadline = time.monotonic() + 10
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
        while True:
            try:
                with opener.open(f"{server.url}/models", timeout=1) as answer:
                    if answer.status == 200:
                        return server
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError("the test model server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


if __name__ == "__main__":
    main()
