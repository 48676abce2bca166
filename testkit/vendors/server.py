"""The harness every fake vendor runs on: a threaded HTTP server on 127.0.0.1 with regex routes.

Each server records every request it got (method, path, query, headers, raw body, parsed JSON or multipart form)
and answers from its routes. Faults are queued per route: `server.fault("chat", Reply(429,
headers={"retry-after": "1"}))` makes the next matching request fail that way, then normal service resumes.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    json: Any = None
    query: dict[str, list[str]] = field(default_factory=dict)
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def arg(self, name: str, default: str) -> str:
        """The first value of a query parameter."""
        return self.query.get(name, [default])[0]


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "application/json"  # malformed JSON bodies keep the JSON content type
        return self.body or b"", self.headers.get("content-type", "application/octet-stream")


def parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, list[str]], dict[str, tuple[str, bytes]]]:
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    form: dict[str, list[str]] = defaultdict(list)
    files: dict[str, tuple[str, bytes]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (filename, payload)
        else:
            form[name].append(payload.decode())
    return dict(form), files


Handler = Callable[[Request, re.Match], Reply]
POLL_S = 0.01  # how often the serving loop checks for shutdown


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default of 5 drops bursts of connections (SYN retry: +1 s)


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 with regex routes, request log, fault queues and in-flight counting.

    `in_flight` counts requests from their arrival until their reply is ready (delays included)."""

    def __init__(self, port: int = 0) -> None:
        self.routes: list[tuple[str, str, re.Pattern, Handler]] = []
        self.requests: list[Request] = []
        self.faults: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def _serve(self) -> None:
                outer._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.httpd = _Server(("127.0.0.1", port), _H)
        # stop() waits for the serving loop to see the shutdown: at socketserver's 0.5 s poll that is most of a
        # short test's teardown
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(POLL_S,), daemon=True)

    # ------------------------------------------------------------------ setup
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, method: str, pattern: str, handler: Handler, name: str | None = None) -> None:
        self.routes.append((name or f"{method} {pattern}", method, re.compile(f"^{pattern}$"), handler))

    def fault(self, name: str, *replies: Reply) -> None:
        with self._lock:
            self.faults[name].extend(replies)

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def seen(self, name_or_path: str) -> list[Request]:
        return [r for r in self.requests if f"{r.method} {r.path}" == name_or_path or r.path == name_or_path]

    def matching(self, method: str, pattern: str) -> list[Request]:
        rx = re.compile(f"^{pattern}$")
        return [r for r in self.requests if r.method == method and rx.match(r.path)]

    def not_found(self, req: Request) -> Reply:
        """The answer to a request no route takes (OpenAI's error shape; vendors override it)."""
        return Reply(
            404, {"error": {"message": f"no route {req.method} {req.path}", "type": "invalid_request_error"}}
        )

    # ------------------------------------------------------------------ serving
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else b""
        path, _, query = h.path.partition("?")
        req = Request(
            h.command,
            path,
            {k.lower(): v for k, v in h.headers.items()},
            body,
            time.monotonic(),
            query=parse_qs(query),
        )
        ctype = req.headers.get("content-type", "")
        if ctype.startswith("application/json") and body:
            req.json = json.loads(body)
        elif ctype.startswith("multipart/form-data"):
            req.form, req.files = parse_multipart(ctype, body)
        with self._lock:
            self.requests.append(req)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            reply = self._reply(req)
            if reply.delay:
                time.sleep(reply.delay)
        finally:
            with self._lock:
                self.in_flight -= 1
        data, default_type = reply.encoded()
        try:
            h.send_response(reply.status)
            headers = {"content-type": default_type, **{k.lower(): v for k, v in reply.headers.items()}}
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("content-length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (timeout tests)

    def _reply(self, req: Request) -> Reply:
        for name, method, rx, handler in self.routes:
            m = rx.match(req.path)
            if method == req.method and m:
                with self._lock:
                    queued = self.faults[name].popleft() if self.faults[name] else None
                if queued is not None:
                    if queued.status == 200 and queued.body is None and queued.delay:
                        time.sleep(queued.delay)
                        return handler(req, m)
                    return queued
                return handler(req, m)
        return self.not_found(req)
