"""The Lambda functions of the stack: one table, read by the CDK constructs, the asset bundler and the
cold-start bench. Plain Python (no CDK import) so the bundler and the bench start fast.

Each function names its handler (the contract with the runtime code), the asset group it is packaged
from (the group decides which third-party SDKs are pip-installed next to `shared/` and `services/`),
and exactly what it may touch: S3 prefixes to read/write, the Secrets Manager secrets it reads, and
whether it starts executions or puts events.

infra/ imports none of the stages' logic. It reads two declarations: the vendor key table (shared/secrets.py)
and, for a function's secrets, the provider registries of the stages it hosts (`providers`, imported on first
use of `secrets` in `stage_secrets`, so importing this table stays fast).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from storyreel.shared.registry import Registry
from storyreel.shared.secrets import VENDOR_KEYS

RUNS = "runs/"
UPLOADS = "uploads/"
EXPORTS = "runs/*/exports/"  # every run's exports (run ids are made at run time)

# Secrets Manager secret keys -> env var naming the secret (the runtime reads them with Powertools Parameters).
SECRET_ENV = {key.secret: key.pointer for key in VENDOR_KEYS}

# The stages whose providers a function runs: it is granted the vendor keys those providers can use.
ProviderStage = Literal["transcribe", "scenes", "images", "virality", "clips"]


@cache
def stage_secrets(stages: tuple[ProviderStage, ...]) -> tuple[str, ...]:
    """The secrets of every vendor key the named stages' providers can use, each once, in order."""
    # Imported on first use, not with this table: the registries bring in the settings and pydantic. They are
    # declarations (provider name -> factory, vendor key), and the only services code infra reads: the
    # import contract in pyproject allows exactly these four imports.
    from storyreel.services.clips.providers import CLIP_PROVIDERS
    from storyreel.services.images.providers import IMAGE_PROVIDERS
    from storyreel.services.scenes.providers import PLANNERS
    from storyreel.services.transcribe.providers import TRANSCRIBERS
    from storyreel.services.virality.sources import EVIDENCE_SOURCES

    registries: dict[ProviderStage, Registry] = {
        "transcribe": TRANSCRIBERS,
        "scenes": PLANNERS,
        "images": IMAGE_PROVIDERS,
        "virality": EVIDENCE_SOURCES,
        "clips": CLIP_PROVIDERS,
    }
    names: list[str] = []
    for stage in stages:
        names += [name for name in registries[stage].secrets() if name not in names]
    return tuple(names)


# What every Lambda asset installs: the part of pyproject's core dependencies that services/ and shared/
# import (not the CLI's click/rich, nor the local pipeline's numpy/pocketsphinx/Pillow unless a group asks).
LAMBDA_BASE: tuple[str, ...] = ("pydantic", "pyyaml", "platformdirs", "httpx")
# Asset group -> distribution names (as pyproject spells them) installed on top of LAMBDA_BASE.
# Powertools (and its aws-xray-sdk) comes from the AWS-managed layer and boto3 from the Lambda runtime,
# so neither is bundled. No torch, no diffusers: the GPU worker is a container.
# transcribe: the stage checks every upload with ffmpeg (imageio-ffmpeg's binary) and pocketsphinx's VAD
# before the OpenAI call; images: provider responses are checked and converted to PNG with Pillow.
# POST /runs/{id}/exports makes the PDF and timelines inside the Api Lambda (the mp4 goes to the Export
# function), so the group the Api is packaged from installs these (tests/infra/test_exports_assets.py).
# Pillow: services/export/step.py imports the animatic module, which draws with it.
API_EXPORTS = ("pillow", "reportlab", "opentimelineio", "otio-fcp-adapter", "otio-cmx3600-adapter")
ASSET_GROUPS: dict[str, tuple[str, ...]] = {
    "transcribe": ("openai", "numpy", "imageio-ffmpeg", "pocketsphinx", "webvtt-py"),  # + typed briefs
    "scenes": ("openai",),
    "optimizer": (),
    "images": ("openai", "replicate", *API_EXPORTS),  # + the Api's exports (the Api is packaged from it)
    "virality": ("firecrawl-py",),
    "clips": ("replicate", "standardwebhooks"),  # the SDK's uploads/predictions; webhook signatures
    "api": (),
    "auth": ("pyjwt",),  # the authorizer: PyJWT[crypto] verifies Cognito's RS256 tokens
    # services/export: the storyboard PDF, the timelines, and the animatic's ffmpeg (the imageio-ffmpeg wheel's
    # static binary, 51 MB on arm64: docs/deploy.md). Pillow lays the stills out and draws the cards; OpenCV
    # (headless) and numpy cut every frame's move from them (services/export/animatic.py).
    "export": (*API_EXPORTS, "imageio-ffmpeg", "numpy", "opencv-python-headless"),
}
# Installed paths left out of a group's asset. The cloud transcribes with OpenAI (cdk.json settings);
# pocketsphinx is there for its VAD, which needs no acoustic model (37 MB).
ASSET_PRUNE: dict[str, tuple[str, ...]] = {"transcribe": ("pocketsphinx/model",)}

# `-c transcriber=whisper` (infra/config.py): the Transcribe function as a container image instead of the zip,
# built by `cdk deploy` from the repository root with this Dockerfile. It installs the transcribe group plus
# these (a container takes no layers, so Powertools too); 3008 MB: base.en int8 decodes on ~2 vCPUs; /tmp holds
# the S3 model (base.en 145 MB, large-v3 3.1 GB) beside the audio.
TRANSCRIBE_IMAGE_DOCKERFILE = "infra/images/transcribe/Dockerfile"
TRANSCRIBE_IMAGE_PACKAGES: tuple[str, ...] = ("faster-whisper", "huggingface-hub", "aws-lambda-powertools")
TRANSCRIBE_IMAGE_MEMORY_MB = 3008
TRANSCRIBE_IMAGE_EPHEMERAL_MB = 4096


@dataclass(frozen=True)
class LambdaSpec:
    id: str  # construct id, also the Step Functions substitution stem (<id>FunctionArn)
    handler: str  # module.function, relative to the asset root
    asset: str  # key of ASSET_GROUPS
    service: str  # POWERTOOLS_SERVICE_NAME
    description: str
    memory_mb: int = 512
    timeout_s: int = 60
    s3_read: tuple[str, ...] = (RUNS,)
    s3_write: tuple[str, ...] = (RUNS,)
    s3_delete: tuple[str, ...] = ()
    providers: tuple[ProviderStage, ...] = ()  # the stages whose providers it runs: it reads their keys
    in_state_machine: bool = False  # its ARN is a definition substitution; the state machine invokes it
    starts_executions: bool = False
    puts_events: bool = False
    sends_task_results: bool = False  # states:SendTaskSuccess/Failure/Heartbeat on the storyboard machine
    function_url: bool = False  # reachable at its own Lambda function URL (the clips webhook)
    invokes: tuple[str, ...] = ()  # functions it invokes asynchronously (lambda:InvokeFunction on each)
    on_failure: str | None = None  # id of its asynchronous invocations' on-failure destination (no retries)
    ephemeral_mb: int = 512  # /tmp
    submits_gpu_jobs: bool = False  # batch:SubmitJob on the GPU queue and its job definition

    @property
    def secrets(self) -> tuple[str, ...]:
        """The Secrets Manager secrets it may read (SECRET_ENV keys): the keys its providers can use."""
        return stage_secrets(self.providers)

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def function(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    @property
    def substitution(self) -> str:
        return f"{self.id}FunctionArn"


FUNCTIONS: tuple[LambdaSpec, ...] = (
    LambdaSpec(
        "Transcribe",
        "storyreel.services.transcribe.handler.handler",
        "transcribe",
        "transcribe",
        "audio -> transcript.json",
        memory_mb=2048,  # ffmpeg decode + VAD over up to 30 min of PCM; more memory is also more CPU
        timeout_s=900,
        providers=("transcribe",),  # intake copies the upload to runs/<id>/audio/<name>: runs/ is enough
        in_state_machine=True,
    ),
    LambdaSpec(
        "Context",
        "storyreel.services.scenes.handler.context_handler",
        "scenes",
        "context",
        "transcript -> creative context",
        timeout_s=300,
        providers=("scenes",),
        in_state_machine=True,
    ),
    LambdaSpec(
        "Choose",
        "storyreel.services.optimizer.handler.choose_handler",
        "optimizer",
        "optimizer",
        "bandit picks the creative variant",
        timeout_s=30,
        in_state_machine=True,
    ),
    LambdaSpec(
        "Scenes",
        "storyreel.services.scenes.handler.scenes_handler",
        "scenes",
        "scenes",
        "context -> scenes with keyframe prompts",
        timeout_s=300,
        providers=("scenes",),
        in_state_machine=True,
    ),
    LambdaSpec(
        "Images",
        "storyreel.services.images.handler.handler",
        "images",
        "images",
        "one Map item: one scene's keyframes from an API provider",
        timeout_s=600,
        providers=("images",),
        in_state_machine=True,
    ),
    LambdaSpec(
        "Virality",
        "storyreel.services.virality.handler.handler",
        "virality",
        "virality",
        "virality report with forum evidence",
        timeout_s=120,
        providers=("virality",),
        in_state_machine=True,
    ),
    LambdaSpec(
        "Learn",
        "storyreel.services.optimizer.handler.learn_handler",
        "optimizer",
        "optimizer",
        "bandit update from the predicted reward",
        timeout_s=30,
        in_state_machine=True,
    ),
    LambdaSpec(
        "Finalize",
        "storyreel.services.finalize.handler.handler",
        "api",
        "finalize",
        "storyboard.json + index.html, run succeeded, PreviewReady event",
        timeout_s=120,
        in_state_machine=True,
        puts_events=True,
    ),
    LambdaSpec(
        "Fail",
        "storyreel.services.finalize.handler.fail_handler",
        "api",
        "finalize",
        "marks the run failed with its cause (drops a stale storyboard page)",
        timeout_s=30,
        s3_delete=(RUNS,),
        in_state_machine=True,
    ),
    LambdaSpec(
        "ClipsPlan",
        "storyreel.services.clips.handler.plan_handler",
        "clips",
        "clips",
        "the clips branch's Map items (scenes with both keyframes), the rest recorded failed",
        timeout_s=60,
        providers=("clips",),
        in_state_machine=True,
    ),
    LambdaSpec(
        "ClipsStart",
        "storyreel.services.clips.handler.start_handler",
        "clips",
        "clips",
        "one scene's Replicate prediction with a webhook (.waitForTaskToken)",
        timeout_s=120,  # uploads two keyframes and creates the prediction; the clip itself is the webhook's
        providers=("clips",),
        in_state_machine=True,
    ),
    LambdaSpec(
        "ClipsFail",
        "storyreel.services.clips.handler.fail_handler",
        "clips",
        "clips",
        "records a clip (or every pending clip) failed with the Catch's cause; the run goes on",
        timeout_s=30,
        in_state_machine=True,
    ),
    LambdaSpec(
        "ClipsWebhook",
        "storyreel.services.clips.handler.webhook_handler",
        "clips",
        "clips",
        "Replicate's signed webhook (function URL) -> the clip into S3, SendTaskSuccess/Failure/Heartbeat",
        memory_mb=1024,  # holds one clip (clips.max_bytes) while it goes to S3
        timeout_s=300,
        providers=("clips",),  # the Replicate token reads the webhook signing secret
        sends_task_results=True,
        function_url=True,
    ),
    LambdaSpec(
        "Intake",
        "storyreel.services.intake.handler.handler",
        "api",
        "intake",
        "S3 upload event -> run + execution (idempotent)",
        timeout_s=60,
        s3_read=(RUNS, UPLOADS),
        starts_executions=True,
    ),
    LambdaSpec(
        "RenderRest",
        "storyreel.services.intake.handler.render_rest_handler",
        "api",
        "intake",
        "PreviewReady -> an execution rendering the pending frames",
        timeout_s=60,
        starts_executions=True,
    ),
    LambdaSpec(
        "Api",
        "storyreel.services.api.handler.handler",
        "images",  # a frame re-render (POST .../regenerate) runs the images stage's API providers in the Lambda
        "api",
        "REST API (Powertools APIGatewayRestResolver)",
        timeout_s=29,
        s3_write=(RUNS, UPLOADS),  # presigned PUT under uploads/api/ (the upload starts the run via intake)
        providers=("images",),  # their vendor keys: replicate, stability, openai re-render frames here
        puts_events=True,  # POST /runs/{id}/images -> PreviewReady
        invokes=("Export",),  # POST /runs/{id}/exports with mp4: the animatic is made there
        submits_gpu_jobs=True,  # a re-render on a GPU provider is a Batch job (infra/constructs/gpu.py)
    ),
)

FUNCTIONS += (
    LambdaSpec(
        "Export",
        "storyreel.services.export.handler.handler",
        "export",
        "export",
        "one queued export of a finished run (the animatic's ffmpeg, the PDF, the timelines) -> exports/<id>/",
        memory_mb=3008,  # ffmpeg's x264 threads: Lambda gives CPU in proportion to memory (~2 vCPUs here)
        timeout_s=900,
        ephemeral_mb=4096,  # the run's keyframes and clips, the frames' PNGs, the mp4, before they go to S3
        s3_write=(EXPORTS,),
        s3_delete=(EXPORTS,),  # a failed export's files
        on_failure="ExportFail",
    ),
    LambdaSpec(
        "ExportFail",
        "storyreel.services.export.handler.fail_handler",
        "export",
        "export",
        "the Export function's on-failure destination: a crashed or timed-out export is recorded failed",
        timeout_s=60,
        s3_read=(),
        s3_write=(),
        s3_delete=(EXPORTS,),
    ),
)

BY_ID = {spec.id: spec for spec in FUNCTIONS}

# Not a stage and not in FUNCTIONS: the REST API's Lambda authorizer (a Cognito JWT or an API key), built by
# infra/constructs/auth.py when the web app is deployed, with its own role (no bucket, no table: only the
# web app's usage-plan key in Secrets Manager).
AUTHORIZER = LambdaSpec(
    "Authorizer",
    "storyreel.services.auth.handler.handler",
    "auth",
    "auth",
    "REST API authorizer: a Cognito JWT (JWKS-verified) or an API key for the usage plan",
    timeout_s=10,
    s3_read=(),
    s3_write=(),
)
