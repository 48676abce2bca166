"""REST API Lambda (API Gateway REST proxy): Powertools APIGatewayRestResolver with request validation.

POST /runs                  a queued run + a presigned upload URL; the upload starts it (intake_handler)
GET  /runs                  newest first
GET  /runs/{run_id}         status, stage timings, presigned links to storyboard.json, index.html, frames
POST /runs/{run_id}/images  render the frames a preview left (a PreviewReady event -> render_rest_handler)
POST /runs/{run_id}/feedback  real engagement -> the optimizer (outweighs the predicted reward)

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
import re
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
from storyreel.services.optimizer import step as optimizer_step
from storyreel.shared.aws.context import resolve_settings, run_context, run_settings
from storyreel.shared.aws.env import API_UPLOAD_PREFIX, Env, blobs, state, uploads
from storyreel.shared.aws.events import preview_ready
from storyreel.shared.aws.observability import lambda_entry, metrics
from storyreel.shared.contracts import Engagement, FrameCounts, RunError, RunRecord, RunStatus, ScenePlan
from storyreel.shared.errors import ConflictError, NotFoundError, UserError
from storyreel.shared.ids import RUN_ID_PATTERN, new_run_id
from storyreel.shared.pipeline import INDEX_HTML, SCENES, STORYBOARD, frame_order, outstanding
from storyreel.shared.settings import Settings
from storyreel.shared.stores import get_model

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
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.(m4a|mp4|mp3|wav|ogg|opus|webm|flac|aac)$",
        description="the audio's file name; its extension picks the upload's Content-Type",
    )

    @field_validator("options", mode="before")
    @classmethod
    def _strict_options(cls, value: Any) -> Any:
        # Settings are lax where they come from YAML and the environment (strings); a JSON body has real types.
        # A model's strict config does not reach the models nested in it, strict validation does.
        return Settings.model_validate(value, strict=True) if isinstance(value, dict) else value


class Upload(_Model):
    url: str = Field(description="presigned S3 URL: PUT the audio there")
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str] = Field(description="headers the PUT must send (the URL is signed with them)")
    key: str
    expires_in: int


class CreateRunResponse(_Model):
    run_id: str
    status: RunStatus
    upload: Upload


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


class ValidationErrorBody(ErrorBody):
    """A 422: `error` names the first bad field; `detail` lists them all (loc, msg, type; inputs never echoed)."""

    detail: list[dict[str, Any]] = Field(description="each bad field: loc (a path), msg, type")


def _responses(*codes: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries for the error answers a route can give (422 always: validation is on for every route).
    A request that sends a body (even a GET) can get 400/413/415 from refuse_body and parse_body."""
    codes = tuple(sorted({*codes, 400, 413, 415}))
    what = {
        400: "bad request (one line says what): not UTF-8, nested too deep, a number too long, ...",
        404: "no such run",
        409: "the run is in the wrong state",
        413: "body too large",
        415: "body is not JSON (Content-Type application/json or application/*+json, charset utf-8 if given)",
    }
    responses: dict[int, OpenAPIResponse] = {
        code: {
            "description": what[code],
            "content": {"application/json": {"schema": ErrorBody.model_json_schema()}},
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
    settings = resolve_settings(options, request.preset)
    run_id = new_run_id()
    env = Env.load()
    key = f"{run_id}/{request.filename}"
    content_type = AUDIO_TYPES[PurePosixPath(request.filename).suffix.lower()]
    record = RunRecord(
        run_id=run_id,
        source=f"s3://{env.bucket}/{API_UPLOAD_PREFIX}{key}",
        output_dir=f"s3://{env.bucket}/runs/{run_id}/",
        options=settings.model_dump(mode="json"),
    )
    state(env).create(record)
    store = uploads(env)
    url = store.presign(f"api/{key}", UPLOAD_TTL_S, method="put_object", content_type=content_type)
    body = CreateRunResponse(
        run_id=run_id,
        status=record.status,
        upload=Upload(
            url=url,
            headers={"Content-Type": content_type},
            key=f"{API_UPLOAD_PREFIX}{key}",
            expires_in=UPLOAD_TTL_S,
        ),
    )
    return Response(HTTPStatus.CREATED.value, content_types.APPLICATION_JSON, body)


@app.get("/runs", summary="List runs, newest first", responses={200: {"description": "runs"}, **_responses()})
def list_runs(limit: Annotated[int, Query(ge=1, le=100, description="how many runs")] = 20) -> RunList:
    return RunList(
        runs=[
            RunSummary.model_validate(r.model_dump(include=set(RunSummary.model_fields)))
            for r in state().list(limit)
        ]
    )


@app.get(
    "/runs/<run_id>",
    summary="A run: status, stage timings, links",
    responses={200: {"description": "the run"}, **_responses(404)},
)
def get_run(run_id: RunId) -> RunDetail:
    env = Env.load()
    record = state(env).get(run_id)
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
    if frames:
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
    record = store.get(run_id)
    if record.status != RunStatus.succeeded:
        raise ConflictError(f"run {run_id} is {record.status.value}: feedback is for finished runs")
    reward = optimizer_step.feedback(
        store, run_id, engagement, config=run_settings(record).optimizer, record=record
    )
    body = FeedbackAccepted(run_id=run_id, reward=reward)
    return Response(HTTPStatus.ACCEPTED.value, content_types.APPLICATION_JSON, body)


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
