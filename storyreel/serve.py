"""`storyreel serve`: the REST API on one local port, through the same handler the Api Lambda runs.

Each HTTP request becomes the API Gateway REST proxy event the Lambda gets (as `sam local` makes them) and goes
to `services.api.handler.handler`; the handler's stores are the local ones (shared/aws/env.py LocalMode: SQLite
state and files under STORYREEL_HOME). Besides the API this process serves what S3 and EventBridge do in the
cloud, and the web app:

    PUT  /uploads/api/<run_id>/<file>?expires=..&sig=..   the upload URL POST /runs returned (signed, expiring,
                                                          at most the run's max_audio_minutes worth of bytes,
                                                          audio, or a typed brief / meeting transcript checked
                                                          as the CLI checks it); it starts the run in a
                                                          background worker
    GET  /files/<run_id>/<path>                           a run's files, read-only (no hidden files, no `..`)
    PUT  /files/<run_id>/reference/subject.png?expires=..&sig=..  the reference image POST /runs signed (before
                                                          the brief; at most 20 MB; an image Pillow reads)
    GET  /openapi.json                                    the API's OpenAPI document
    GET  / -> 302 /app/index.html; /app/<path>            services/web/static/ (when that folder exists)

The handler runs one request at a time (a Lambda sandbox runs one invocation at a time, and Powertools keeps
the current event on the resolver); files, uploads and the pipeline runs do not wait for it.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import re
import secrets
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from storyreel.runner import StageFailed, execute, open_run, render_outstanding
from storyreel.shared.contracts import RunError, RunStatus
from storyreel.shared.errors import ConflictError, InputError, NotFoundError, first_line
from storyreel.shared.ids import RUN_ID_PATTERN
from storyreel.shared.settings import Settings
from storyreel.shared.stores import SqliteStateStore, local_state

MAX_API_BODY = 64 * 1024  # read at most this much of an API request (the handler refuses over 16 KiB itself)
UPLOAD_CHUNK = 1 << 20
MAX_QUEUED = 8  # runs and renders waiting for a worker; one more is answered 429 (the run stays queued)
BUSY_RETRY_S = 5  # the 429's Retry-After: a queued run takes seconds (sketch) to a minute to start
_UPLOAD_KEY = re.compile(rf"^api/({RUN_ID_PATTERN.strip('^$')})/([A-Za-z0-9_][A-Za-z0-9_.-]*)$")
_REFERENCE_KEY = re.compile(rf"^({RUN_ID_PATTERN.strip('^$')})/(reference/[A-Za-z0-9_.-]+)$")
_RUN_FILE = re.compile(rf"^({RUN_ID_PATTERN.strip('^$')})/(.+)$")


def _web_root() -> Path:
    """services/web/static as installed (storyreel.services.web) or in the repository."""
    import storyreel.services as services

    return Path(services.__file__).resolve().parent / "web" / "static"


class LambdaContext:
    """The few fields of a Lambda context the handler's Powertools logger reads."""

    function_name = "storyreel-serve"
    function_version = "$LATEST"
    memory_limit_in_mb = 0
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:storyreel-serve"
    log_group_name = "local"
    log_stream_name = "local"

    def __init__(self) -> None:
        self.aws_request_id = secrets.token_hex(8)

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def api_event(
    method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The API Gateway REST proxy event for one HTTP request (what the Lambda gets behind API Gateway)."""
    url = urlsplit(target)
    pairs = parse_qsl(url.query, keep_blank_values=True)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in pairs:
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:  # API Gateway hands a body that is not text over base64-encoded
        text, encoded = base64.b64encode(body).decode(), True
    path = unquote(url.path)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "stage": "local",
            "requestId": secrets.token_hex(8),
            "httpMethod": method,
            "path": path,
            "resourcePath": path,
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


@dataclass
class Workers:
    """Runs and renders on a few daemon threads, at most MAX_QUEUED waiting. A run still going when the server
    stops is recorded as failed (its thread dies with the process)."""

    state: SqliteStateStore
    count: int = 2
    _jobs: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    _busy: set[str] = field(default_factory=set)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _stopped: bool = False

    def start(self) -> None:
        for n in range(self.count):
            threading.Thread(target=self._loop, name=f"storyreel-worker-{n}", daemon=True).start()

    def submit(self, run_id: str, job: Callable[[], None]) -> bool:
        with self._lock:
            if self._stopped or len(self._jobs) >= MAX_QUEUED:
                return False
            self._jobs.append((run_id, job))
            self._lock.notify()
            return True

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._jobs and not self._stopped:
                    self._lock.wait()
                if self._stopped:
                    return
                run_id, job = self._jobs.pop(0)
                self._busy.add(run_id)
            try:
                job()
            except StageFailed:
                pass  # recorded on the run (status failed, its stage and reason)
            except Exception as exc:  # noqa: BLE001 - a worker must outlive one bad job; the run says what
                self._mark_failed(run_id, f"{type(exc).__name__}: {first_line(exc)}")
            finally:
                with self._lock:
                    self._busy.discard(run_id)

    def _mark_failed(self, run_id: str, message: str) -> None:
        try:
            record = self.state.get(run_id)
        except NotFoundError:
            return
        if record.status in (RunStatus.queued, RunStatus.running):
            record.status = RunStatus.failed
            record.error = RunError(stage="serve", message=message, kind="internal")
            self.state.save(record)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            pending = [run_id for run_id, _ in self._jobs] + sorted(self._busy)
            self._jobs.clear()
            self._lock.notify_all()
        for run_id in pending:
            self._mark_failed(run_id, "interrupted: storyreel serve stopped before the run finished")


class Server:
    """The API, the uploads, the run files and the web app on one port."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 8000, *, url: str | None = None, workers: int = 2
    ):
        from storyreel.shared.aws.env import LocalMode, use_local
        from storyreel.shared.stores import storyreel_home

        for name, value in {
            "POWERTOOLS_SERVICE_NAME": "storyreel",
            "POWERTOOLS_METRICS_NAMESPACE": "storyreel",
            "POWERTOOLS_METRICS_DISABLED": "true",  # no EMF lines on stdout for every request
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }.items():
            os.environ.setdefault(name, value)
        self.home = storyreel_home()
        self.state = local_state(self.home)
        self.workers = Workers(self.state, workers)
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.server = self  # type: ignore[attr-defined]
        bound = self.httpd.server_address[1]
        shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        self.url = (url or f"http://{shown}:{bound}").rstrip("/")
        self.port = int(bound)
        self.web_root = _web_root()
        self.api_lock = threading.Lock()
        self._uploading: set[str] = set()
        self._uploading_lock = threading.Lock()
        self.mode = LocalMode(
            home=self.home,
            base_url=self.url,
            secret=secrets.token_bytes(32),
            state=self.state,
            render=self.render,
            export=self.export,
        )
        use_local(self.mode)

    # ---- the pipeline, as the cloud's upload event and render-rest start it
    def start_run(self, run_id: str) -> bool:
        def job() -> None:
            record = self.state.get(run_id)
            Path(record.output_dir).mkdir(parents=True, exist_ok=True)
            execute(open_run(record, self.state))

        return self.workers.submit(run_id, job)

    def render(self, run_id: str, frames: list[str]) -> None:
        def job() -> None:
            record = self.state.get(run_id)
            options = dict(record.options)
            pipeline = {**options.get("pipeline", {}), "skip_image_generation": False, "limit_images": None}
            settings = Settings.model_validate({**options, "pipeline": pipeline})
            render_outstanding(open_run(record, self.state, settings=settings), frames)

        if not self.workers.submit(run_id, job):
            raise ConflictError(f"the local workers are busy ({MAX_QUEUED} jobs waiting); try again")

    def export(self, run_id: str, export_id: str) -> None:
        """A queued export (POST /runs/{id}/exports with mp4), made as the cloud's Export function makes it."""
        from storyreel.services.export.handler import ExportEvent, make_export

        event = ExportEvent(run_id=run_id, export_id=export_id)

        def job() -> None:
            make_export(event)  # a failure is recorded on the export (its status and reason)

        if not self.workers.submit(run_id, job):
            raise ConflictError(f"the local workers are busy ({MAX_QUEUED} jobs waiting); try again")

    # ---- lifetime
    def serve_forever(self) -> None:
        self.workers.start()
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.close()

    def close(self) -> None:
        from storyreel.shared.aws.env import use_local

        self.workers.stop()
        self.httpd.server_close()
        use_local(None)


class _Handler(BaseHTTPRequestHandler):
    server_version = "storyreel"
    protocol_version = "HTTP/1.1"

    @property
    def app(self) -> Server:
        return self.server.server  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("STORYREEL_SERVE_LOG"):
            super().log_message(format, *args)

    # ---- answers
    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None) -> None:
        body = json.dumps({"error": message, "status": status.value}).encode()
        self._send(status.value, body, "application/json", headers)

    def _refuse_body(self, status: HTTPStatus, message: str) -> None:
        """An answer before the body is read: the connection closes (the unread body is not drained)."""
        self.close_connection = True
        self._send(
            status.value,
            json.dumps({"error": message, "status": status.value}).encode(),
            "application/json",
            {"Connection": "close"},
        )

    # ---- dispatch
    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        try:
            if path.startswith("/uploads/"):
                self._upload(unquote(path.removeprefix("/uploads/")))
            elif path.startswith("/files/") and self.command in ("GET", "HEAD"):
                self._run_file(unquote(path.removeprefix("/files/")))
            elif path.startswith("/files/") and self.command == "PUT":
                self._reference(unquote(path.removeprefix("/files/")))
            elif path == "/openapi.json" and self.command in ("GET", "HEAD"):
                from storyreel.services.api.openapi import DOCUMENT

                self._send(200, DOCUMENT.read_bytes(), "application/json")
            elif self.command in ("GET", "HEAD") and path in ("/", "/app", "/app/"):
                # the app's CSS and JS are relative to its folder: send the browser into it
                self._send(302, b"", "text/plain", {"Location": "/app/index.html"})
            elif self.command in ("GET", "HEAD") and path.startswith("/app/"):
                self._static(path.removeprefix("/app/"))
            else:
                self._api()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _content_length(self, limit: int) -> int | None:
        """The request's Content-Length, or None after answering (missing, malformed, over `limit`)."""
        raw = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self._refuse_body(
                HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not accepted: send Content-Length"
            )
            return None
        if raw is None:
            if self.command in ("POST", "PUT", "PATCH"):
                self._refuse_body(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
                return None
            return 0
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if length < 0:
            self._refuse_body(HTTPStatus.BAD_REQUEST, "Content-Length is not a number")
            return None
        if length > limit:
            self._refuse_body(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {limit} bytes")
            return None
        return length

    # ---- the API, through the Lambda handler
    def _api(self) -> None:
        from storyreel.services.api.handler import handler

        length = self._content_length(MAX_API_BODY)
        if length is None:
            return
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        event = api_event(self.command, self.path, headers, body, self.client_address[0])
        with self.app.api_lock:
            out = handler(event, LambdaContext())
        answer = (out.get("body") or "").encode()
        if out.get("isBase64Encoded"):
            answer = base64.b64decode(answer)
        extra = {k: v for k, v in (out.get("headers") or {}).items() if k.lower() not in ("content-length",)}
        for name, values in (out.get("multiValueHeaders") or {}).items():
            if name.lower() != "content-length" and values:
                extra[name] = values[-1]
        content_type = extra.pop("Content-Type", extra.pop("content-type", "application/json"))
        self._send(int(out["statusCode"]), answer, content_type, extra)

    # ---- what S3 does in the cloud
    def _upload(self, key: str) -> None:
        from storyreel.services.transcribe.step import is_typed, typed_too_big, upload_limit

        if self.command != "PUT":
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, "uploads are PUT")
            return
        match = _UPLOAD_KEY.match(key)
        if match is None:
            self._refuse_body(HTTPStatus.NOT_FOUND, "no such upload")
            return
        run_id = match.group(1)
        query = dict(parse_qsl(urlsplit(self.path).query))
        store = self.app.mode.uploads()
        refused = store.check_put(
            key, query.get("expires", ""), query.get("sig", ""), self.headers.get("Content-Type", "")
        )
        if refused is not None:
            self._refuse_body(HTTPStatus.FORBIDDEN, refused)
            return
        try:
            record = self.app.state.get(run_id)
        except NotFoundError:
            self._refuse_body(HTTPStatus.NOT_FOUND, f"no run with id {run_id!r}")
            return
        if record.status != RunStatus.queued:
            self._refuse_body(HTTPStatus.CONFLICT, f"run {run_id} is {record.status.value}: its audio is in")
            return
        settings = Settings.model_validate(record.options)
        minutes = settings.pipeline.max_audio_minutes
        name = match.group(2)
        declared = self.headers.get("Content-Length", "")
        too_big = typed_too_big(name, int(declared)) if is_typed(name) and declared.isdigit() else None
        if too_big:  # the CLI's line for a typed brief over its bound, before a byte of it is read
            self._refuse_body(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, too_big)
            return
        length = self._content_length(upload_limit(name, minutes))
        if length is None:
            return
        with self.app._uploading_lock:
            if run_id in self.app._uploading:
                self._refuse_body(HTTPStatus.CONFLICT, f"run {run_id}'s audio is being uploaded already")
                return
            self.app._uploading.add(run_id)
        try:
            self._receive(run_id, length, store.local_path(key), settings)
        finally:
            with self.app._uploading_lock:
                self.app._uploading.discard(run_id)

    def _receive(self, run_id: str, length: int, dest: Path, settings: Settings) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                left = length
                while left:
                    chunk = self.rfile.read(min(UPLOAD_CHUNK, left))
                    if not chunk:
                        raise ConnectionResetError("the upload ended early")
                    out.write(chunk)
                    left -= len(chunk)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        try:
            _check_upload(dest, settings)
        except _NotAudio as exc:
            dest.unlink(missing_ok=True)
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, str(exc))
            return
        except InputError as exc:
            dest.unlink(missing_ok=True)
            self._error(HTTPStatus.UNPROCESSABLE_ENTITY, first_line(exc))
            return
        record = self.app.state.get(run_id)
        record.source = str(dest)
        try:
            self.app.state.save(record, expect_status=RunStatus.queued)
        except ConflictError as exc:
            self._error(HTTPStatus.CONFLICT, first_line(exc))
            return
        if not self.app.start_run(run_id):
            self._error(
                HTTPStatus.TOO_MANY_REQUESTS,
                f"the local workers are busy: PUT the audio again in {BUSY_RETRY_S} s",
                {"Retry-After": str(BUSY_RETRY_S)},
            )
            return
        self._send(200, b"", "text/plain", {"ETag": f'"{secrets.token_hex(8)}"'})

    def _reference(self, key: str) -> None:
        """The reference image's signed PUT (POST /runs' reference_upload), into the run's folder: S3 takes any
        object there; this checks what the images stage will, so a bad image is a 415 now, not a failed run."""
        from storyreel.services.images.step import MAX_REFERENCE_BYTES, REFERENCE_KEY, reference_png

        match = _REFERENCE_KEY.match(key)
        if match is None or match.group(2) != REFERENCE_KEY:
            self._refuse_body(HTTPStatus.METHOD_NOT_ALLOWED, "a run's files are read-only")
            return
        run_id = match.group(1)
        query = dict(parse_qsl(urlsplit(self.path).query))
        store = self.app.mode.runs()
        content_type = self.headers.get("Content-Type", "")
        refused = store.check_put(key, query.get("expires", ""), query.get("sig", ""), content_type)
        if refused is not None:
            self._refuse_body(HTTPStatus.FORBIDDEN, refused)
            return
        try:
            record = self.app.state.get(run_id)
        except NotFoundError:
            self._refuse_body(HTTPStatus.NOT_FOUND, f"no run with id {run_id!r}")
            return
        if record.status != RunStatus.queued:
            self._refuse_body(
                HTTPStatus.CONFLICT,
                f"run {run_id} is {record.status.value}: the reference image goes up before the brief",
            )
            return
        length = self._content_length(MAX_REFERENCE_BYTES)
        if length is None:
            return
        data = self.rfile.read(length)
        if len(data) < length:
            self.close_connection = True
            return
        try:
            png = reference_png(data, "upload")
        except InputError as exc:
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, first_line(exc))
            return
        store.put_bytes(key, png, "image/png")
        self._send(200, b"", "text/plain", {"ETag": f'"{secrets.token_hex(8)}"'})

    def _run_file(self, key: str) -> None:
        match = _RUN_FILE.match(key)
        parts = key.split("/")
        if match is None or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            self._error(HTTPStatus.NOT_FOUND, "no such file")
            return
        store = self.app.mode.runs()
        try:
            path = store.local_path(key)
        except ValueError:
            self._error(HTTPStatus.NOT_FOUND, "no such file")
            return
        self._file(path)

    def _static(self, name: str) -> None:
        root = self.app.web_root
        if not root.is_dir():
            self._error(HTTPStatus.NOT_FOUND, "no web app here (services/web/static/ is not installed)")
            return
        parts = name.split("/")
        if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            self._error(HTTPStatus.NOT_FOUND, "no such file")
            return
        path = (root / name).resolve()
        if root.resolve() not in path.parents:
            self._error(HTTPStatus.NOT_FOUND, "no such file")
            return
        self._file(path)

    def _file(self, path: Path) -> None:
        """A regular file, streamed (never read whole into memory)."""
        try:
            fh = path.open("rb")
        except OSError:
            self._error(HTTPStatus.NOT_FOUND, "no such file")
            return
        with fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                self._error(HTTPStatus.NOT_FOUND, "no such file")
                return
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(st.st_size))
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if self.command != "HEAD":
                shutil.copyfileobj(fh, self.wfile, UPLOAD_CHUNK)


class _NotAudio(Exception):
    pass


def _check_upload(dest: Path, settings: Settings) -> None:
    """What the CLI checks of its input, on the uploaded file: a typed brief is read as the transcribe step
    reads it (binary data or not UTF-8: _NotAudio, a 415; empty, broken cues: InputError, a 422), audio is
    probed and checked (not audio: 415; too long, silent: 422)."""
    from storyreel.services.transcribe.audio import check_audio, probe
    from storyreel.services.transcribe.step import check_typed, is_typed
    from storyreel.services.transcribe.typed import NotText

    if is_typed(dest.name):
        try:
            check_typed(dest, settings.transcription.language)
        except NotText as exc:
            raise _NotAudio(first_line(exc)) from None
        return
    info = probe(dest)
    if info.error is not None or not info.has_audio:
        why = info.error or "no audio stream in it"
        raise _NotAudio(f"{dest.name} is not an audio file ({why})")
    check_audio(dest, settings.pipeline.max_audio_minutes)


def serve(
    host: str, port: int, url: str | None = None, on_ready: Callable[[Server], None] | None = None
) -> None:
    """Serve until Ctrl-C (or SIGTERM, which the CLI turns into the same)."""
    server = Server(host, port, url=url)
    if on_ready is not None:
        on_ready(server)
    server.serve_forever()
