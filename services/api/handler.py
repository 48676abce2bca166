"""REST API Lambda (API Gateway REST proxy): Powertools APIGatewayRestResolver with request validation.

POST /runs                  a queued run + a presigned upload URL; the upload starts it (intake_handler)
GET  /runs                  newest first
GET  /runs/{run_id}         status, stage timings, presigned links to storyboard.json, index.html, frames
POST /runs/{run_id}/images  render the frames a preview left (a PreviewReady event -> render_rest_handler)
POST /runs/{run_id}/feedback  real engagement -> the optimizer (outweighs the predicted reward)
GET  /runs/{run_id}/progress, /storyboard; the edits (scenes, frames, replan) through services/edit/step.py;
GET  /policy. docs/api.md has the table.

Runs belong to their caller (`owner`: the Cognito `sub`, else the API key id, else "local"): another caller's
run is a 404, as an unknown one. Every edit sends the run's `revision`; the check and the bump are one
conditional write (shared/stores.py `editing`): a stale one is a 409 with the current revision.
`storyreel serve` (storyreel/serve.py) runs this same handler locally, with the local stores (shared/aws/env.py
LocalMode).

Bodies are pydantic models validated strictly (a count is a JSON integer, a switch a JSON boolean: `"100"` and
`true` are not numbers): a bad body is a 422 naming the field; a user error (unknown run, wrong state, bad
settings) is a 4xx with one line; bodies over MAX_BODY_BYTES are refused with 413 before parsing; JSON nested
past MAX_JSON_DEPTH or with a number literal over MAX_NUMBER_CHARS is a 400; a body that is not JSON (by its
Content-Type, compared case-insensitively) is a 415. Every 4xx, Powertools' own included, is {"error", "status"}.
The OpenAPI document is generated from this resolver: `make openapi` writes services/api/openapi.json.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, field_validator
from storyreel.services.edit import step as edit_step
from storyreel.services.images import step as images_step
from storyreel.services.optimizer import step as optimizer_step
from storyreel.services.transcribe import step as transcribe_step
from storyreel.shared.aws.context import load_secrets, resolve_settings, run_context, run_settings
from storyreel.shared.aws.env import API_UPLOAD_PREFIX, RUN_PREFIX, Env, blobs, client, state, uploads
from storyreel.shared.aws.events import preview_ready
from storyreel.shared.aws.observability import lambda_entry, metrics
from storyreel.shared.contracts import (
    EXPORT_ID_PATTERN,
    ClipStatus,
    Engagement,
    ExportRecord,
    ExportStatus,
    FrameCounts,
    FrameVersion,
    RenderJob,
    RunError,
    RunRecord,
    RunStatus,
    ScenePlan,
    StageTiming,
    Storyboard,
)
from storyreel.shared.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    ProviderError,
    StoryreelError,
    UserError,
)
from storyreel.shared.ids import RUN_ID_PATTERN, new_run_id, parse_frame_id
from storyreel.shared.pipeline import (
    INDEX_HTML,
    SCENES,
    STORYBOARD,
    RunContext,
    frame_order,
    load_frame,
    outstanding,
)
from storyreel.shared.settings import ImageProviderName, Settings, load_settings
from storyreel.shared.stores import RevisionConflict, editing, get_model, get_optional_model

if TYPE_CHECKING:  # for the annotations only: the handler's cold start does not load the OpenAPI models
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

API_TITLE = "storyreel API"
API_VERSION = "1.0.0"
MAX_BODY_BYTES = 16 * 1024  # the WAF's limit too (infra/constructs/api.py; a test keeps them equal)
LINK_TTL_S = 3600
UPLOAD_TTL_S = 900
AUDIO_TYPES = {
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "audio/webm",
    ".flac": "audio/flac",
    ".aac": "audio/aac",
}
# JSON bodies: the deepest nesting and the longest number literal accepted. Far past any real body (options are
# 3 levels deep; an int64 has 20 characters, a float's repr at most 24), and far below what breaks the parser:
# json's recursion (~1000 levels: RecursionError) and Python's int-string limit (4300 digits: ValueError).
MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 40
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="the run id (also the execution name)")]
FRAME_ID = re.compile(r"^s([1-9][0-9]?)-(start|end)$")
FrameId = Annotated[
    str, Path(pattern=FRAME_ID.pattern, description="a keyframe: s<scene>-start or s<scene>-end")
]
SceneIndex = Annotated[int, Path(ge=1, le=99, description="the scene's position, 1-based")]
MAX_TEXT = 4000  # the longest prompt or description an edit may set (services/edit/revise.py MAX_TEXT)
MAX_TRANSCRIPT = 12000  # a corrected transcript (the body's 16 KiB bound holds it, JSON-escaped)
GPU_PROVIDERS = ("batch", "diffusers")  # in the cloud: a Batch job on the GPU queue, not in the Lambda
LOCAL_OWNER = "local"
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # RFC 9110 token
_MEDIA_TYPE = re.compile(rf"^\s*({_TOKEN})/({_TOKEN})\s*")
_MEDIA_PARAM = re.compile(rf'\s*;\s*(?:({_TOKEN})=({_TOKEN}|"(?:[^"\\]|\\.)*")\s*)?')


class BodyRefused(UserError):
    """A body Powertools must not parse: nested too deep, a number literal too long, NaN/Infinity (400)."""


def _json_number(kind: type) -> Any:
    def parse(literal: str) -> Any:
        if len(literal) > MAX_NUMBER_CHARS:
            raise BodyRefused(f"request body has a number over {MAX_NUMBER_CHARS} characters")
        value = kind(literal)
        if value in (float("inf"), float("-inf")):  # 1e999 parses to inf
            raise BodyRefused("request body has a number out of range")
        return value

    return parse


def _json_constant(name: str) -> Any:
    raise BodyRefused(f"request body has {name}, which is not JSON")


def parse_body(text: str) -> Any:
    """The request body parser (Powertools' json_body_deserializer): json.loads, bounded. The nesting depth is
    counted first without recursing (strings blanked, brackets counted), so the parser never recurses past
    MAX_JSON_DEPTH; number literals are refused past MAX_NUMBER_CHARS, NaN/Infinity and overflowing floats
    always; so are strings with a lone surrogate escape (\\ud800: not Unicode, nothing can store or answer it).
    Malformed JSON still raises JSONDecodeError (Powertools answers it as a 422 naming the position)."""
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            raise BodyRefused(f"request body is nested over {MAX_JSON_DEPTH} levels deep")
    value = json.loads(
        text,
        parse_int=_json_number(int),
        parse_float=_json_number(float),
        parse_constant=_json_constant,
    )
    if _SURROGATE_ESCAPE.search(text):  # a pair decodes to one character; a lone half cannot be encoded
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BodyRefused("request body has a lone UTF-16 surrogate escape (\\ud800-\\udfff)") from None
    return value


def media_type(header: str) -> tuple[str, dict[str, str]] | None:
    """`type/subtype` (lower case) and its parameters (names lower case, quoted values unquoted) of a
    Content-Type header (RFC 9110 8.3.1), or None when it is not a media type."""
    match = _MEDIA_TYPE.match(header)
    if match is None:
        return None
    params: dict[str, str] = {}
    at = match.end()
    while at < len(header):
        param = _MEDIA_PARAM.match(header, at)
        if param is None or param.end() == at:
            return None
        if param.group(1):
            value = param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[param.group(1).lower()] = value
        at = param.end()
    return f"{match.group(1)}/{match.group(2)}".lower(), params


def is_json(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=parse_body)


# --------------------------------------------------------------------------- models
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Request(_Model):
    """A request body: strict types (no "100" for a number, no 1 or "yes" for a boolean)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class CreateRunRequest(_Request):
    preset: Literal["preview", "quick", "full"] | None = Field(
        default=None, description="speed tier: preview (prompts only), quick (2 frames now), full"
    )
    options: Settings | None = Field(
        default=None, description="settings sections (as in the YAML config); only the keys given count"
    )
    filename: str = Field(
        default="brief.m4a",
        min_length=5,
        max_length=100,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.(m4a|mp4|mp3|wav|ogg|opus|webm|flac|aac|txt|md|markdown|vtt|srt|json)$",
        description="the brief's file name: audio (m4a mp4 mp3 wav ogg opus webm flac aac) or a typed brief or "
        "meeting transcript (txt md markdown vtt srt json: read, not recognised); its extension picks the upload's "
        "Content-Type and size bound",
    )

    reference: Literal["image/png", "image/jpeg", "image/webp"] | None = Field(
        default=None,
        description="the Content-Type of a reference image of the subject (the same person or product in every "
        "shot): the answer's reference_upload is where to PUT it, BEFORE the brief (the brief's upload starts "
        "the run). Sets image_generation.subject_reference to 'given'; it conditions the frames of a provider "
        "that takes a reference (diffusers with an IP-Adapter, Replicate's FLUX Kontext)",
    )

    @field_validator("options", mode="before")
    @classmethod
    def _strict_options(cls, value: Any) -> Any:
        # Settings are lax where they come from YAML and the environment (strings); a JSON body has real types.
        # A model's strict config does not reach the models nested in it, strict validation does.
        return Settings.model_validate(value, strict=True) if isinstance(value, dict) else value


class Upload(_Model):
    url: str = Field(description="presigned S3 URL: PUT the brief there")
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str] = Field(description="headers the PUT must send (the URL is signed with them)")
    key: str
    expires_in: int
    kind: Literal["audio", "typed", "reference"] = Field(
        description="audio (recognised), typed (read as text) or reference (the subject's image)"
    )
    max_bytes: int = Field(description="the most bytes the upload may hold; a bigger one fails the run")


class CreateRunResponse(_Model):
    run_id: str
    status: RunStatus
    upload: Upload
    reference_upload: Upload | None = Field(
        default=None, description="where to PUT the reference image (only when the request named one): first"
    )


class RunSummary(_Model):
    run_id: str
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    title: str | None = None
    virality_score: float | None = None
    frames: FrameCounts
    error: RunError | None = None


class RunList(_Model):
    runs: list[RunSummary]


class RunLinks(_Model):
    storyboard: str | None = Field(default=None, description="presigned URL of storyboard.json")
    index: str | None = Field(default=None, description="presigned URL of index.html")
    frames: dict[str, str] = Field(default_factory=dict, description="frame id -> presigned PNG URL")
    expires_in: int = LINK_TTL_S


class RunDetail(_Model):
    run: RunRecord
    links: RunLinks


class RenderRequest(_Request):
    frames: list[Annotated[str, Field(pattern=FRAME_ID.pattern)]] | None = Field(
        default=None, max_length=20, description="frame ids, e.g. s2-start; default: every frame not rendered"
    )


class RenderAccepted(_Model):
    run_id: str
    frames: list[str] = Field(description="the frames sent to the background render (empty: nothing left)")


class FeedbackAccepted(_Model):
    run_id: str
    recorded: bool = True
    reward: float | None = Field(default=None, description="the reward the optimizer learned from it (0..1)")


class ErrorBody(_Model):
    """Every 4xx answer: one line saying what, and the status code again."""

    error: str
    status: int


class ConflictBody(ErrorBody):
    """A 409 about the revision (stale, or another edit holds the run), or a 502 after a failed re-render:
    `revision` is the run's revision now (read the storyboard again)."""

    revision: int


class ValidationErrorBody(ErrorBody):
    """A 422: `error` names the first bad field; `detail` lists them all (loc, msg, type; inputs never echoed)."""

    detail: list[dict[str, Any]] = Field(description="each bad field: loc (a path), msg, type")


def _responses(*codes: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries for the error answers a route can give (422 always: validation is on for every route).
    A request that sends a body (even a GET) can get 400/413/415 from refuse_body and parse_body."""
    codes = tuple(sorted({*codes, 400, 413, 415}))
    what = {
        400: "bad request (one line says what): not UTF-8, nested too deep, a number too long, ...",
        404: "no such run (or not the caller's), scene, frame or version",
        409: "the run is in the wrong state, or the revision is stale (`revision`: the current one)",
        413: "body too large",
        415: "body is not JSON (Content-Type application/json or application/*+json, charset utf-8 if given)",
        502: "the image provider failed: the frames that did render are saved (`revision`: the run's now)",
    }
    # A 409 is either shape: the run's state (ErrorBody) or its revision (ConflictBody, which adds `revision`).
    schema: dict[int, dict[str, Any]] = {
        409: {"anyOf": [ErrorBody.model_json_schema(), ConflictBody.model_json_schema()]},
        502: ConflictBody.model_json_schema(),
    }
    responses: dict[int, OpenAPIResponse] = {
        code: {
            "description": what[code],
            "content": {"application/json": {"schema": schema.get(code, ErrorBody.model_json_schema())}},
        }
        for code in codes
    }
    responses[422] = {
        "description": "a parameter or the body does not fit the schema",
        "content": {"application/json": {"schema": ValidationErrorBody.model_json_schema()}},
    }
    return responses


# --------------------------------------------------------------------------- errors and limits
def _error(status: HTTPStatus, message: str) -> Response:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=ErrorBody(error=message, status=status.value).model_dump_json(),
    )


@app.exception_handler(NotFoundError)
def _not_found(exc: NotFoundError) -> Response:
    return _error(HTTPStatus.NOT_FOUND, str(exc))


@app.not_found
def _no_route(exc: Exception) -> Response:
    return _error(HTTPStatus.NOT_FOUND, "no such resource")


@app.exception_handler(ConflictError)
def _conflict(exc: ConflictError) -> Response:
    return _error(HTTPStatus.CONFLICT, str(exc))


@app.exception_handler(RevisionConflict)
def _stale(exc: RevisionConflict) -> Response:
    body = ConflictBody(error=str(exc), status=HTTPStatus.CONFLICT.value, revision=exc.revision)
    return Response(body.status, content_types.APPLICATION_JSON, body.model_dump_json())


class RenderFailed(StoryreelError):
    """A re-render the provider refused or failed (502); `revision`: where the run is now."""

    def __init__(self, message: str, revision: int) -> None:
        super().__init__(message)
        self.revision = revision


@app.exception_handler(RenderFailed)
def _render_failed(exc: RenderFailed) -> Response:
    body = ConflictBody(error=str(exc), status=HTTPStatus.BAD_GATEWAY.value, revision=exc.revision)
    return Response(body.status, content_types.APPLICATION_JSON, body.model_dump_json())


@app.exception_handler(UserError)
def _user_error(exc: UserError) -> Response:
    return _error(HTTPStatus.BAD_REQUEST, str(exc))


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported(exc: RequestUnsupportedContentType) -> Response:
    return _error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "request body must be application/json")


@app.exception_handler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    """Powertools' own HTTP errors (BadRequestError, NotFoundError, ...) in the one error shape."""
    body = ErrorBody(error=str(exc.msg), status=int(exc.status_code))
    return Response(body.status, content_types.APPLICATION_JSON, body.model_dump_json())


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response:
    """422 in the document's HTTPValidationError shape (Powertools' default body leaves out `msg`, which its own
    schema requires), plus `error`: one line naming the first bad field. Inputs are never echoed back."""
    details = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"]) or "request"
    more = f" (+{len(details) - 1} more)" if len(details) > 1 else ""
    body = {"error": f"{where}: {first['msg']}{more}", "status": 422, "detail": details}
    return Response(HTTPStatus.UNPROCESSABLE_ENTITY.value, content_types.APPLICATION_JSON, json.dumps(body))


def refuse_body(event: dict[str, Any]) -> tuple[HTTPStatus, str] | None:
    """Checked on the raw event, before Powertools parses anything (its validation middleware runs ahead of any
    app.use middleware, and raises on bodies it cannot decode): bodies over MAX_BODY_BYTES get 413, bodies that
    are not UTF-8 text get 400, bodies that are not JSON get 415 (the media type is compared case-insensitively,
    its parameters parsed; a charset other than UTF-8 is not our JSON either). The body itself is parsed, bounded,
    by parse_body."""
    raw = event.get("body") or ""
    if len(raw) > 2 * MAX_BODY_BYTES:  # quick refusal before decoding anything
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {MAX_BODY_BYTES} bytes"
    try:
        data = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode("utf-8")
        data.decode("utf-8")
    except (binascii.Error, UnicodeError):
        return HTTPStatus.BAD_REQUEST, "request body is not UTF-8 JSON text"
    if len(data) > MAX_BODY_BYTES:
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {MAX_BODY_BYTES} bytes"
    sends_body = bool(raw) or event.get("httpMethod") in ("POST", "PUT", "PATCH")
    header = _content_type(event)
    if not sends_body or not header.strip():
        return None
    parsed = media_type(header)
    if parsed is None:
        return (
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "request body must be application/json (Content-Type is malformed)",
        )
    media, params = parsed
    if not is_json(media):
        return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"request body must be application/json, not {media}"
    if params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "request body must be UTF-8 JSON (charset=utf-8)"
    return None


def _content_type(event: dict[str, Any]) -> str:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    return str(headers.get("content-type") or "")


def json_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event with a JSON Content-Type spelled `application/json`: refuse_body has accepted it (any case, a
    +json type, a charset); Powertools compares it case-sensitively, by prefix, and would answer 415."""
    header = _content_type(event)
    parsed = media_type(header)
    if parsed is None or not is_json(parsed[0]) or header.startswith(content_types.APPLICATION_JSON):
        return event
    out = dict(event)
    for field in ("headers", "multiValueHeaders"):
        if isinstance(event.get(field), dict):
            out[field] = {k: v for k, v in event[field].items() if str(k).lower() != "content-type"}
    out["headers"] = {**(out.get("headers") or {}), "Content-Type": content_types.APPLICATION_JSON}
    if isinstance(out.get("multiValueHeaders"), dict):
        out["multiValueHeaders"]["Content-Type"] = [content_types.APPLICATION_JSON]
    return out


# --------------------------------------------------------------------------- routes
@app.post(
    "/runs",
    summary="Create a run and get its upload URL",
    responses={201: {"description": "run created, waiting for its audio"}, **_responses()},
)
def create_run(request: Annotated[CreateRunRequest, Body(embed=False)]) -> Response[CreateRunResponse]:
    options = request.options.model_dump(mode="json", exclude_unset=True) if request.options else {}
    asked = options.get("image_generation", {}).get("subject_reference")
    if request.reference is not None:
        if asked not in (None, "given"):
            raise ConfigError(
                f"options.image_generation.subject_reference is '{asked}' but a reference image is given: "
                "leave it out (a reference makes it 'given')"
            )
        options.setdefault("image_generation", {})["subject_reference"] = "given"
    settings = resolve_settings(options, request.preset)
    if settings.image_generation.subject_reference == "given" and request.reference is None:
        raise ConfigError(
            "subject_reference 'given' needs the reference image: name its Content-Type in `reference` "
            "and PUT it to the reference_upload the answer returns"
        )
    run_id = new_run_id()
    env = Env.load()
    key = f"{run_id}/{request.filename}"
    suffix = PurePosixPath(request.filename).suffix.lower()
    content_type = transcribe_step.typed_content_type(request.filename) or AUDIO_TYPES[suffix]
    store = uploads(env)
    record = RunRecord(
        run_id=run_id,
        source=store.uri(f"api/{key}"),  # s3://bucket/uploads/api/<key>, or the local file
        output_dir=blobs(env).uri(f"{run_id}/"),
        options=settings.model_dump(mode="json"),
        owner=caller(),
    )
    state(env).create(record)
    url = store.presign(f"api/{key}", UPLOAD_TTL_S, method="put_object", content_type=content_type)
    body = CreateRunResponse(
        run_id=run_id,
        status=record.status,
        upload=Upload(
            url=url,
            headers={"Content-Type": content_type},
            key=f"{API_UPLOAD_PREFIX}{key}",
            expires_in=UPLOAD_TTL_S,
            kind="typed" if transcribe_step.is_typed(request.filename) else "audio",
            max_bytes=transcribe_step.upload_limit(request.filename, settings.pipeline.max_audio_minutes),
        ),
        reference_upload=_reference_upload(env, run_id, request.reference) if request.reference else None,
    )
    return Response(HTTPStatus.CREATED.value, content_types.APPLICATION_JSON, body)


def _reference_upload(env: Env, run_id: str, content_type: str) -> Upload:
    """The signed PUT of a run's reference image, straight into the run's folder (runs/<id>/reference/): not
    under uploads/, whose every object starts a run. The images stage reads it bounded and decodes it."""
    store = blobs(env)
    key = f"{run_id}/{images_step.REFERENCE_KEY}"
    return Upload(
        url=store.presign(key, UPLOAD_TTL_S, method="put_object", content_type=content_type),
        headers={"Content-Type": content_type},
        key=f"{RUN_PREFIX}{key}",
        expires_in=UPLOAD_TTL_S,
        kind="reference",
        max_bytes=images_step.MAX_REFERENCE_BYTES,
    )


@app.get("/runs", summary="List runs, newest first", responses={200: {"description": "runs"}, **_responses()})
def list_runs(limit: Annotated[int, Query(ge=1, le=100, description="how many runs")] = 20) -> RunList:
    return RunList(
        runs=[
            RunSummary.model_validate(r.model_dump(include=set(RunSummary.model_fields)))
            for r in state().list_owned(caller(), limit)
        ]
    )


@app.get(
    "/runs/<run_id>",
    summary="A run: status, stage timings, links",
    responses={200: {"description": "the run"}, **_responses(404)},
)
def get_run(run_id: RunId) -> RunDetail:
    env = Env.load()
    record = owned(state(env), run_id)
    store = blobs(env)
    links = RunLinks()
    keys = set(store.list(f"{run_id}/"))
    if f"{run_id}/{STORYBOARD}" in keys:
        links.storyboard = store.presign(f"{run_id}/{STORYBOARD}", LINK_TTL_S)
    if f"{run_id}/{INDEX_HTML}" in keys:
        links.index = store.presign(f"{run_id}/{INDEX_HTML}", LINK_TTL_S)
    for key in sorted(keys):
        name = PurePosixPath(key).name
        if key.startswith(f"{run_id}/frames/") and name.endswith(".png"):
            links.frames[name.removesuffix(".png")] = store.presign(key, LINK_TTL_S)
    return RunDetail(run=record, links=links)


@app.post(
    "/runs/<run_id>/images",
    summary="Render the frames a preview left pending (in the background)",
    responses={202: {"description": "render requested"}, **_responses(404, 409)},
)
def render_images(
    run_id: RunId, request: Annotated[RenderRequest, Body(embed=False)]
) -> Response[RenderAccepted]:
    env = Env.load()
    owned(state(env), run_id)
    ctx, record = run_context(run_id, env)
    if record.status != RunStatus.succeeded:
        raise ConflictError(f"run {run_id} is {record.status.value}: frames render after it succeeded")
    plan = get_model(ctx.blobs, ctx.key(SCENES), ScenePlan)
    if request.frames is None:
        frames = outstanding(ctx, plan)
    else:
        known = set(frame_order(plan))
        unknown = [f for f in request.frames if f not in known]
        if unknown:
            raise UserError(f"run {run_id} has no frame(s) {', '.join(unknown)} ({len(plan.scenes)} scenes)")
        frames = list(dict.fromkeys(request.frames))
    if frames and env.local is not None:
        env.local.render(run_id, frames)  # storyreel serve: its background worker, as render-rest does
    elif frames:
        preview_ready(run_id, frames, "api", env)
    return Response(
        HTTPStatus.ACCEPTED.value,
        content_types.APPLICATION_JSON,
        RenderAccepted(run_id=run_id, frames=frames),
    )


@app.post(
    "/runs/<run_id>/feedback",
    summary="Record real engagement for a run (the optimizer learns from it)",
    responses={202: {"description": "feedback recorded"}, **_responses(404, 409)},
)
def feedback(
    run_id: RunId, engagement: Annotated[Engagement, Body(embed=False)]
) -> Response[FeedbackAccepted]:
    store = state()
    record = owned(store, run_id)
    if record.status != RunStatus.succeeded:
        raise ConflictError(f"run {run_id} is {record.status.value}: feedback is for finished runs")
    reward = optimizer_step.feedback(
        store, run_id, engagement, config=run_settings(record).optimizer, record=record
    )
    body = FeedbackAccepted(run_id=run_id, reward=reward)
    return Response(HTTPStatus.ACCEPTED.value, content_types.APPLICATION_JSON, body)


# --------------------------------------------------------------------------- the caller, and the runs it owns
def caller() -> str:
    """Who is asking: the Cognito user (`sub`, from a user-pool authorizer's claims or the REQUEST authorizer's
    context), else the API key's id, else "local" (storyreel serve, and runs made by `storyreel run`)."""
    ctx = app.current_event.request_context
    authorizer = ctx.authorizer
    sub = authorizer.claims.get("sub") or authorizer.get("sub")
    if sub:
        return str(sub)
    return ctx.identity.api_key_id or LOCAL_OWNER


def owned(store: Any, run_id: str) -> RunRecord:
    """The caller's run `run_id`; another caller's run is a 404 like an unknown one (ids do not leak)."""
    record: RunRecord = store.get(run_id)
    if record.owner != caller():
        raise NotFoundError(f"no run with id {run_id!r}")
    return record


# --------------------------------------------------------------------------- progress and the storyboard
_PLAIN_FRAME = re.compile(r"^(s[0-9]+-(?:start|end))\.png$")


class Progress(_Model):
    run_id: str
    status: RunStatus
    revision: int
    stages: dict[str, StageTiming]
    frames: dict[str, str] = Field(description="frame id -> image URL, for every frame rendered so far")
    counts: FrameCounts = Field(description="the run record's counts (written with the storyboard)")
    error: RunError | None = None
    updated_at: datetime
    renders: dict[str, RenderJob] = Field(
        default_factory=dict, description="frame id -> its GPU re-render: rendering, or failed and why"
    )
    expires_in: int = LINK_TTL_S


class FrameImages(_Model):
    url: str | None = Field(description="the current image (null: none yet)")
    version: int | None = Field(default=None, description="the current version (null: never re-rendered)")
    versions: dict[str, str] = Field(default_factory=dict, description="version number -> image URL")


class StoryboardView(_Model):
    run_id: str
    revision: int = Field(description="send it with the next edit")
    status: RunStatus
    storyboard: dict[str, Any] = Field(
        description="storyboard.json as written (its JSON Schema: shared/schema/storyboard.schema.json)"
    )
    images: dict[str, FrameImages] = Field(description="frame id -> its images")
    renders: dict[str, RenderJob] = Field(
        default_factory=dict, description="frame id -> its GPU re-render: rendering, or failed and why"
    )
    clips: dict[str, str] = Field(
        default_factory=dict, description="scene index -> its motion clip's mp4 (scenes whose clip is done)"
    )
    expires_in: int = LINK_TTL_S


class VersionView(FrameVersion):
    url: str | None = Field(default=None, description="this version's image")


class VersionList(_Model):
    frame_id: str
    current: int | None
    versions: list[VersionView]


class Belief(_Model):
    bucket: str
    lever: str
    arm: str
    alpha: float
    beta: float
    mean: float
    pulls: float


class PolicyView(_Model):
    policy: str
    version: int
    updates: int
    runs: dict[str, int] = Field(description="tracked runs by kind of reward")
    beliefs: list[Belief]


def _link(store: Any, run_id: str, image_key: str | None) -> str | None:
    return store.presign(f"{run_id}/{image_key}", LINK_TTL_S) if image_key else None


def storyboard_view(env: Env, record: RunRecord) -> StoryboardView:
    store = blobs(env)
    board = get_optional_model(store, f"{record.run_id}/{STORYBOARD}", Storyboard)
    if board is None:
        raise ConflictError(f"run {record.run_id} is {record.status.value}: it has no storyboard yet")
    images: dict[str, FrameImages] = {}
    for scene in board.scenes:
        for frame in scene.frames():
            versions = {str(v.version): _link(store, record.run_id, v.image_key) for v in frame.versions}
            images[f"s{scene.index}-{frame.role}"] = FrameImages(
                url=_link(store, record.run_id, frame.image_key),
                version=frame.version,
                versions={k: v for k, v in versions.items() if v is not None},
            )
    clips = {
        str(scene.index): _link(store, record.run_id, scene.clip.video_key)
        for scene in board.scenes
        if scene.clip is not None and scene.clip.status == ClipStatus.done and scene.clip.video_key
    }
    return StoryboardView(
        run_id=record.run_id,
        revision=record.revision,
        status=record.status,
        storyboard=board.model_dump(mode="json"),
        images=images,
        renders=_renders(env, record),
        clips={n: url for n, url in clips.items() if url is not None},
    )


def _renders(env: Env, record: RunRecord) -> dict[str, RenderJob]:
    ctx = RunContext(run_id=record.run_id, settings=run_settings(record), blobs=blobs(env), state=state(env))
    return edit_step.render_jobs(ctx)


@app.get(
    "/runs/<run_id>/progress",
    summary="A run's stages and the frames rendered so far (poll it)",
    responses={200: {"description": "progress"}, **_responses(404)},
)
def progress(run_id: RunId) -> Progress:
    env = Env.load()
    record = owned(state(env), run_id)
    store = blobs(env)
    frames: dict[str, str] = {}
    for key in store.list(f"{run_id}/frames/"):
        match = _PLAIN_FRAME.match(key.removeprefix(f"{run_id}/frames/"))
        if match:
            frames[match.group(1)] = store.presign(key, LINK_TTL_S)
    return Progress(
        run_id=run_id,
        status=record.status,
        revision=record.revision,
        stages=record.stages,
        frames=frames,
        counts=record.frames,
        error=record.error,
        updated_at=record.updated_at,
        renders=_renders(env, record),
    )


@app.get(
    "/runs/<run_id>/storyboard",
    summary="The storyboard, its revision and its images",
    responses={200: {"description": "the storyboard"}, **_responses(404, 409)},
)
def get_storyboard(run_id: RunId) -> StoryboardView:
    env = Env.load()
    return storyboard_view(env, owned(state(env), run_id))


# --------------------------------------------------------------------------- edits
Revision = Annotated[
    int, Field(ge=0, le=2**31 - 1, description="the run's revision the edit was made against")
]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
Note = Annotated[str, Field(max_length=200)]


class SceneChange(_Request):
    revision: Revision
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Text | None = None
    start_prompt: Text | None = None
    end_prompt: Text | None = None
    negative_prompt: Annotated[str, Field(max_length=MAX_TEXT)] | None = Field(
        default=None, description="both frames' negative prompt"
    )
    duration_s: Annotated[float, Field(gt=0, le=600)] | None = None
    transition: Note | None = None
    camera: Note | None = None
    locked: bool | None = Field(default=None, description="re-planning keeps a locked scene")


class SceneInsert(_Request):
    revision: Revision
    index: Annotated[int, Field(ge=1, le=99, description="the new scene's position (1 to count + 1)")]
    description: Text
    start_prompt: Text | None = None
    end_prompt: Text | None = None


class SceneMove(_Request):
    revision: Revision
    to: Annotated[int, Field(ge=1, le=99, description="the scene's new position")]


class RegenerateRequest(_Request):
    revision: Revision
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    prompt: Text | None = Field(default=None, description="the frame's new prompt")
    with_end: bool = Field(default=False, description="a start frame: re-derive its end frame from it too")
    image_provider: ImageProviderName | None = Field(default=None, description="default: the run's own")


class UseVersion(_Request):
    revision: Revision
    version: Annotated[int, Field(ge=1, le=10_000)]


class ReplanRequest(_Request):
    revision: Revision
    transcript: Annotated[str, Field(min_length=1, max_length=MAX_TRANSCRIPT)] | None = Field(
        default=None, description="the corrected transcript (default: plan again from the one the run has)"
    )


def edit_settings(record: RunRecord, image_provider: str | None = None) -> Settings:
    """The run's settings for an edit: its own, images on (every frame asked for renders), its image provider
    or `image_provider` (as `storyreel regenerate --image-provider`)."""
    options = dict(record.options)
    image = dict(options.get("image_generation", {}))
    if image_provider:
        image["provider"] = image_provider
    pipeline = {**options.get("pipeline", {}), "skip_image_generation": False, "limit_images": None}
    return load_settings(cli={**options, "image_generation": image, "pipeline": pipeline}, environ=os.environ)


def _plan(env: Env, run_id: str) -> ScenePlan:
    return get_model(blobs(env), f"{run_id}/{SCENES}", ScenePlan)


def _check_scene(plan: ScenePlan, run_id: str, index: int) -> None:
    if index > len(plan.scenes):
        raise NotFoundError(f"run {run_id} has no scene {index} (it has scenes 1-{len(plan.scenes)})")


def _check_frame(plan: ScenePlan, run_id: str, fid: str) -> None:
    _check_scene(plan, run_id, parse_frame_id(fid)[0])


def apply_edit(
    run_id: str,
    revision: int,
    change: Callable[[RunContext, RunRecord], object],
    *,
    check: Callable[[Env, RunRecord], None] | None = None,
    image_provider: str | None = None,
) -> StoryboardView:
    """One edit of the caller's finished run at `revision` (run_edit), answered with the storyboard after it."""
    env, claimed, _ = run_edit(run_id, revision, change, check=check, image_provider=image_provider)
    return storyboard_view(env, claimed)


def run_edit(
    run_id: str,
    revision: int,
    change: Callable[[RunContext, RunRecord], object],
    *,
    check: Callable[[Env, RunRecord], None] | None = None,
    image_provider: str | None = None,
) -> tuple[Env, RunRecord, object]:
    """`check` (404s, before anything is claimed), then the claim, `change` (the editing core), and the commit
    that bumps the revision (shared/stores.py editing). Returns the env, the record after it and what `change`
    returned."""
    env = Env.load()
    store = state(env)
    record = owned(store, run_id)
    if record.status != RunStatus.succeeded:
        raise ConflictError(
            f"run {run_id} is {record.status.value}; only a finished (succeeded) run can be edited"
        )
    if record.revision != revision:  # the claim checks it again, atomically; this answers before any read
        raise RevisionConflict(
            f"run {run_id} is at revision {record.revision}, not {revision}: it changed since you read it "
            "(read the storyboard again)",
            record.revision,
        )
    if check is not None:
        check(env, record)
    settings = edit_settings(record, image_provider)
    if env.local is None:
        load_secrets()
    try:
        with editing(store, run_id, revision) as claimed:
            ctx = RunContext(run_id=run_id, settings=settings, blobs=blobs(env), state=store)
            done = change(ctx, claimed)
    except ProviderError as exc:
        raise RenderFailed(str(exc).splitlines()[0], store.get(run_id).revision) from None
    return env, claimed, done


def _view(status: HTTPStatus, view: StoryboardView) -> Response[StoryboardView]:
    return Response(status.value, content_types.APPLICATION_JSON, view)


@app.patch(
    "/runs/<run_id>/scenes/<index>",
    summary="Change a scene's text, length, transition, camera or lock",
    responses={200: {"description": "the storyboard after the edit"}, **_responses(404, 409)},
)
def patch_scene(
    run_id: RunId, index: SceneIndex, request: Annotated[SceneChange, Body(embed=False)]
) -> StoryboardView:
    changes: dict[str, str | float] = {
        ("duration" if name == "duration_s" else name): value
        for name, value in request.model_dump(exclude={"revision", "locked"}, exclude_none=True).items()
    }
    what = edit_step.SceneEdit(changes=changes, lock=request.locked)
    return apply_edit(
        run_id,
        request.revision,
        lambda ctx, record: edit_step.edit_scene(ctx, record, index, what),
        check=lambda env, record: _check_scene(_plan(env, run_id), run_id, index),
    )


@app.post(
    "/runs/<run_id>/scenes",
    summary="Insert a scene (its frames are pending until rendered)",
    responses={201: {"description": "the storyboard after the insert"}, **_responses(404, 409)},
)
def insert_scene(
    run_id: RunId, request: Annotated[SceneInsert, Body(embed=False)]
) -> Response[StoryboardView]:
    changes: dict[str, str | float] = {"description": request.description}
    if request.start_prompt:
        changes["start_prompt"] = request.start_prompt
    if request.end_prompt:
        changes["end_prompt"] = request.end_prompt
    what = edit_step.SceneEdit(changes=changes, insert=True)
    view = apply_edit(
        run_id, request.revision, lambda ctx, record: edit_step.edit_scene(ctx, record, request.index, what)
    )
    return _view(HTTPStatus.CREATED, view)


@app.delete(
    "/runs/<run_id>/scenes/<index>",
    summary="Delete a scene (not the only one)",
    responses={200: {"description": "the storyboard after the delete"}, **_responses(404, 409)},
)
def delete_scene(
    run_id: RunId,
    index: SceneIndex,
    revision: Annotated[int, Query(ge=0, le=2**31 - 1, description="the run's revision")],
) -> StoryboardView:
    what = edit_step.SceneEdit(changes={}, delete=True)
    return apply_edit(
        run_id,
        revision,
        lambda ctx, record: edit_step.edit_scene(ctx, record, index, what),
        check=lambda env, record: _check_scene(_plan(env, run_id), run_id, index),
    )


@app.post(
    "/runs/<run_id>/scenes/<index>/move",
    summary="Move a scene to another position (its frames and versions go with it)",
    responses={200: {"description": "the storyboard after the move"}, **_responses(404, 409)},
)
def move_scene(
    run_id: RunId, index: SceneIndex, request: Annotated[SceneMove, Body(embed=False)]
) -> StoryboardView:
    what = edit_step.SceneEdit(changes={}, move_to=request.to)
    return apply_edit(
        run_id,
        request.revision,
        lambda ctx, record: edit_step.edit_scene(ctx, record, index, what),
        check=lambda env, record: _check_scene(_plan(env, run_id), run_id, index),
    )


class RegenerateQueued(_Model):
    """A 202: the re-render is a job on the GPU queue; poll `poll` until `renders` no longer names the frame."""

    run_id: str
    frame_id: str
    frames: list[str] = Field(description="the frames it renders (with with_end: the scene's pair)")
    status: Literal["rendering"] = "rendering"
    revision: int = Field(description="the run's revision now (the request moved it): send it next")
    job_id: str | None = Field(description="the AWS Batch job")
    poll: dict[str, str] = Field(description="where to read the outcome: storyboard, progress (paths)")


@app.post(
    "/runs/<run_id>/frames/<frame_id>/regenerate",
    summary="Render a frame again as a new version (made current; the earlier ones are kept)",
    responses={
        200: {"description": "the storyboard after the render"},
        202: {
            "description": "diffusers/batch in the cloud: queued on the GPU; the storyboard's `renders` shows the "
            "frame rendering, then the new version is current (or `renders` says why it failed)",
            "content": {"application/json": {"schema": RegenerateQueued.model_json_schema()}},
        },
        **_responses(404, 409, 502),
    },
)
def regenerate_frame(
    run_id: RunId, frame_id: FrameId, request: Annotated[RegenerateRequest, Body(embed=False)]
) -> Response[StoryboardView | RegenerateQueued]:
    gpu: list[tuple[str, tuple[str, str]]] = []  # (provider, (queue, job definition)) when it goes to Batch

    def check(env: Env, record: RunRecord) -> None:
        _check_frame(_plan(env, run_id), run_id, frame_id)
        provider = edit_settings(record, request.image_provider).image_generation.provider
        if env.local is None and provider in GPU_PROVIDERS:
            queue = edit_step.gpu_queue()
            if queue is None:
                raise ConflictError(
                    f"run {run_id} renders with {provider} (a GPU) and this deployment has no GPU queue "
                    "(-c image_provider=batch): pass image_provider (sketch, replicate, stability or openai)"
                )
            ctx = RunContext(run_id=run_id, settings=run_settings(record), blobs=blobs(env), state=state(env))
            busy = edit_step.rendering(ctx, frame_id, with_end=request.with_end)
            if busy:
                raise ConflictError(f"{', '.join(busy)} is already rendering on the GPU: wait for it")
            gpu.append((provider, queue))

    def change(ctx: RunContext, record: RunRecord) -> object:
        if gpu:
            provider, queue = gpu[0]
            job = edit_step.request_render(
                ctx,
                record,
                frame_id,
                provider=provider,
                seed=request.seed,
                prompt=request.prompt,
                with_end=request.with_end,
            )
            return edit_step.submit_render(ctx, job, client("batch"), queue)
        return edit_step.regenerate(
            ctx, record, [frame_id], seed=request.seed, prompt=request.prompt, with_end=request.with_end
        )

    env, claimed, done = run_edit(
        run_id, request.revision, change, check=check, image_provider=request.image_provider
    )
    if isinstance(done, RenderJob):
        body = RegenerateQueued(
            run_id=run_id,
            frame_id=frame_id,
            frames=done.frames,
            revision=claimed.revision,
            job_id=done.job_id,
            poll={"storyboard": f"/runs/{run_id}/storyboard", "progress": f"/runs/{run_id}/progress"},
        )
        return Response(HTTPStatus.ACCEPTED.value, content_types.APPLICATION_JSON, body)
    return Response(HTTPStatus.OK.value, content_types.APPLICATION_JSON, storyboard_view(env, claimed))


@app.get(
    "/runs/<run_id>/frames/<frame_id>/versions",
    summary="A frame's kept versions",
    responses={200: {"description": "the versions"}, **_responses(404)},
)
def frame_versions(run_id: RunId, frame_id: FrameId) -> VersionList:
    env = Env.load()
    record = owned(state(env), run_id)
    plan = _plan(env, run_id)
    _check_frame(plan, run_id, frame_id)
    ctx = RunContext(run_id=run_id, settings=run_settings(record), blobs=blobs(env), state=state(env))
    current, kept = edit_step.versions(ctx, frame_id)
    store = blobs(env)
    return VersionList(
        frame_id=frame_id,
        current=current,
        versions=[VersionView(**v.model_dump(), url=_link(store, run_id, v.image_key)) for v in kept],
    )


@app.put(
    "/runs/<run_id>/frames/<frame_id>/current",
    summary="Make a kept version of a frame its current one",
    responses={200: {"description": "the storyboard after the change"}, **_responses(404, 409)},
)
def use_version(
    run_id: RunId, frame_id: FrameId, request: Annotated[UseVersion, Body(embed=False)]
) -> StoryboardView:
    def check(env: Env, record: RunRecord) -> None:
        plan = _plan(env, run_id)
        _check_frame(plan, run_id, frame_id)
        ctx = RunContext(run_id=run_id, settings=run_settings(record), blobs=blobs(env), state=state(env))
        kept = load_frame(ctx, plan, frame_id).versions
        if request.version not in {v.version for v in kept}:
            have = ", ".join(str(v.version) for v in kept) or "none"
            raise NotFoundError(f"frame {frame_id} has no version {request.version} (kept: {have})")

    return apply_edit(
        run_id,
        request.revision,
        lambda ctx, record: edit_step.use(ctx, record, frame_id, request.version),
        check=check,
    )


@app.post(
    "/runs/<run_id>/replan",
    summary="Plan the context and scenes again (from a corrected transcript), keeping the locked scenes",
    responses={200: {"description": "the storyboard after the re-plan"}, **_responses(404, 409)},
)
def replan(run_id: RunId, request: Annotated[ReplanRequest, Body(embed=False)]) -> StoryboardView:
    return apply_edit(
        run_id, request.revision, lambda ctx, record: edit_step.replan(ctx, record, request.transcript)
    )


@app.get(
    "/policy",
    summary="What the optimizer believes",
    responses={200: {"description": "the policy"}, **_responses()},
)
def get_policy() -> PolicyView:
    config = load_settings(environ=os.environ).optimizer
    return PolicyView.model_validate(optimizer_step.policy_view(state(), config))


# --------------------------------------------------------------------------- exports (services/export)
API_EXPORT_FORMATS = ("pdf", "otio", "otioz", "fcpxml", "edl")  # the default; mp4 is asked for by name
EXPORT_FUNCTION_ENV = "EXPORT_FUNCTION_NAME"  # set by the stack (infra/functions.py `invokes`)
ExportId = Annotated[str, Path(pattern=EXPORT_ID_PATTERN, description="the export id POST answered")]


class ExportRequest(_Request):
    formats: list[Literal["mp4", "pdf", "otio", "otioz", "fcpxml", "edl"]] | None = Field(
        default=None,
        min_length=1,
        max_length=6,
        description="default: pdf, otio, otioz, fcpxml, edl (answered 200); with mp4 the export runs in the "
        "background (answered 202: poll GET /runs/{run_id}/exports/{export_id})",
    )
    fps: Literal[24, 25, 30] = 24
    aspect: Literal["9:16", "16:9", "1:1"] | None = Field(default=None, description="default: the platform's")
    audio: Literal["brief", "none"] = "none"
    captions: Literal["burn", "srt", "none"] = "srt"
    paper: Literal["a4", "letter"] = "a4"
    size: Literal["1080p", "720p", "360p"] = Field(default="1080p", description="the animatic's short side")


class ExportView(_Model):
    """One export: queued and running ones have no files yet; a done one links every file it made."""

    run_id: str
    export_id: str
    status: ExportStatus
    formats: list[str]
    poll: str = Field(description="GET this path (under the API's base URL) for the export's status")
    files: dict[str, str] = Field(
        default_factory=dict, description="done: file under runs/<id>/exports/<export_id>/ -> presigned URL"
    )
    notes: list[str] = Field(default_factory=list)
    error: str | None = Field(default=None, description="failed: why, one line")
    expires_in: int | None = Field(default=None, description="done: seconds the links stay valid")


def export_view(env: Env, export: ExportRecord) -> ExportView:
    view = ExportView(
        run_id=export.run_id,
        export_id=export.export_id,
        status=export.status,
        formats=export.formats,
        poll=f"/runs/{export.run_id}/exports/{export.export_id}",
        notes=export.notes,
        error=export.error,
    )
    if export.status == ExportStatus.done:
        store = blobs(env)
        folder = f"{export.run_id}/exports/{export.export_id}"
        view.files = {
            name: store.presign(f"{folder}/{name}", LINK_TTL_S)
            for name in export.files
            if not name.startswith("media/")  # the timelines' stills and clips (the .otioz holds them)
        }
        view.expires_in = LINK_TTL_S
    return view


def dispatch_export(env: Env, run_id: str, export_id: str) -> None:
    """Hand the queued export to the Export function (an asynchronous invoke) or to storyreel serve's worker."""
    if env.local is not None:
        if env.local.export is None:
            raise ServiceError(HTTPStatus.NOT_IMPLEMENTED.value, "this server makes no background exports")
        env.local.export(run_id, export_id)
        return
    client("lambda").invoke(
        FunctionName=os.environ[EXPORT_FUNCTION_ENV],
        InvocationType="Event",
        Payload=json.dumps({"run_id": run_id, "export_id": export_id}).encode(),
    )


@app.post(
    "/runs/<run_id>/exports",
    summary="Export the storyboard: PDF and editor timelines (OTIO, OTIOZ, FCP7 XML, EDL) now, the MP4 animatic "
    "in the background",
    responses={
        200: {
            "description": "no mp4 asked: the export is done, its files as presigned links",
            "content": {"application/json": {"schema": ExportView.model_json_schema()}},
        },
        202: {
            "description": "mp4 asked: the export is queued; poll GET /runs/{run_id}/exports/{export_id}",
            "content": {"application/json": {"schema": ExportView.model_json_schema()}},
        },
        501: {
            "description": "this deployment cannot export (the Api's asset lacks reportlab/OTIO, or no Export function)",
            "content": {"application/json": {"schema": ErrorBody.model_json_schema()}},
        },
        503: {
            "description": "the Export function could not be invoked (the export is recorded failed)",
            "content": {"application/json": {"schema": ErrorBody.model_json_schema()}},
        },
        **_responses(404, 409),
    },
)
def create_exports(
    run_id: RunId, request: Annotated[ExportRequest, Body(embed=False)]
) -> Response[ExportView]:
    try:  # reportlab and OTIO load for this route only
        from storyreel.services.export import step as export_step
    except ModuleNotFoundError as exc:  # not in the Lambda's asset group (infra/functions.py)
        raise ServiceError(
            HTTPStatus.NOT_IMPLEMENTED.value,
            f"exports are not installed in this deployment ({exc.name} is missing): use storyreel export",
        ) from None

    env = Env.load()
    store = state(env)
    owned(store, run_id)
    ctx, record = run_context(run_id, env)
    if record.status != RunStatus.succeeded:
        raise ConflictError(f"run {run_id} is {record.status.value}: only a finished run can be exported")
    options = export_step.ExportOptions.model_validate(
        {**request.model_dump(exclude={"formats"}), "formats": list(request.formats or API_EXPORT_FORMATS)}
    )
    if "mp4" not in options.formats:
        export = export_step.make(ctx, store, export_step.queue(store, run_id, options))
        return Response(HTTPStatus.OK.value, content_types.APPLICATION_JSON, export_view(env, export))
    if env.local is None and not os.environ.get(EXPORT_FUNCTION_ENV):
        raise ServiceError(
            HTTPStatus.NOT_IMPLEMENTED.value,
            f"this deployment has no Export function ({EXPORT_FUNCTION_ENV} is not set): use storyreel export",
        )
    refused = export_step.animatic_refusal(ctx, export_step.load_board(ctx), options)
    if refused is not None:
        raise ConflictError(refused)
    from botocore.exceptions import ClientError  # botocore loads with the first client, not at cold start

    export = export_step.queue(store, run_id, options)
    try:
        dispatch_export(env, run_id, export.export_id)
    except ClientError as exc:  # the invoke was refused (throttled, no such function): nothing will make it
        reason = f"the export could not be started: {exc}"
        export_step.fail(ctx, store, export, reason)
        raise ServiceError(HTTPStatus.SERVICE_UNAVAILABLE.value, reason) from None
    except (StoryreelError, ServiceError) as exc:  # storyreel serve's workers are busy
        export_step.fail(ctx, store, export, f"the export could not be started: {exc}")
        raise
    view = export_view(env, export)
    return Response(
        HTTPStatus.ACCEPTED.value, content_types.APPLICATION_JSON, view, headers={"Location": view.poll}
    )


@app.get(
    "/runs/<run_id>/exports/<export_id>",
    summary="An export's status (queued, running, done, failed) and, once done, its files as presigned links",
    responses={200: {"description": "the export"}, **_responses(404)},
)
def get_export(run_id: RunId, export_id: ExportId) -> ExportView:
    env = Env.load()
    store = state(env)
    owned(store, run_id)
    return export_view(env, store.get_export(run_id, export_id))


def openapi_json() -> str:
    # Powertools' OpenAPI models (one big module of pydantic models): `make openapi` needs them, a request never
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    return app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description="Spoken video brief -> scored storyboard. Auth: an API key (x-api-key) or IAM (SigV4).",
        security_schemes={"apiKey": APIKey(name="x-api-key", in_=APIKeyIn.header)},
        security=[{"apiKey": []}],
    )


@lambda_entry
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="api_requests", unit=MetricUnit.Count, value=1)
    refused = refuse_body(event)
    if refused is not None:
        status, message = refused
        return {
            "statusCode": status.value,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": ErrorBody(error=message, status=status.value).model_dump_json(),
            "isBase64Encoded": False,
        }
    return app.resolve(json_event(event), context)
