"""GPU keyframes on AWS Batch: a GPU compute environment (ECS, NVIDIA AMI) in its own VPC, a job queue,
and a job definition whose container is a DockerImageAsset of the worker in services/images/gpu.

Created only with `-c image_provider=batch`. The image is built and pushed by `cdk deploy` (needs Docker
there); `cdk synth` only stages the build context, so synth needs no Docker engine. The worker's Dockerfile
builds from the repository root and keeps its ignore list next to itself (`Dockerfile.dockerignore`, a
BuildKit convention): that list is also what CDK stages, so .venv, cdk.out and friends never get copied.

The model: `-c gpu_model_uri=s3://bucket/prefix` (a diffusers folder); the job role may read it and the
worker syncs it into its cache. Exit codes follow the worker: 2 (bad input) and 1/3 end the job, 75
(temporary) and 143 (SIGTERM, e.g. Spot reclaim) are retried, and a retry renders only missing frames.
"""

from __future__ import annotations

from aws_cdk import Duration, IgnoreMode, Size
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import InfraConfig
from infra.constructs.docker import docker_excludes
from infra.constructs.storage import Storage
from infra.constructs.workflow import log_group
from infra.functions import RUNS


class GpuBatch(Construct):
    def __init__(self, scope: Construct, construct_id: str, cfg: InfraConfig, storage: Storage) -> None:
        super().__init__(scope, construct_id)
        dockerfile = cfg.gpu_build_context / cfg.gpu_dockerfile
        if not dockerfile.is_file():
            raise FileNotFoundError(
                f"image_provider=batch needs the GPU worker's {dockerfile} (services/images/gpu); "
                "deploy with -c image_provider=replicate until it exists"
            )
        if cfg.gpu_model_uri is None:
            raise ValueError(
                "image_provider=batch needs -c gpu_model_uri=s3://bucket/prefix (the diffusers model folder "
                "the worker syncs); model weights are not baked into the image"
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name="workers", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
            ],
        )
        self.vpc.add_flow_log(
            "FlowLogs",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group(self, "FlowLogGroup", cfg)),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        # S3 traffic (model outputs, frames) stays off the NAT
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)

        self.compute_environment = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "Compute",
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            instance_types=[ec2.InstanceType(t) for t in cfg.gpu_instance_types],
            use_optimal_instance_classes=False,
            images=[batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023_NVIDIA)],
            minv_cpus=0,
            maxv_cpus=cfg.gpu_max_vcpus,
            spot=cfg.gpu_spot,
            allocation_strategy=(
                batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED
                if cfg.gpu_spot
                else batch.AllocationStrategy.BEST_FIT_PROGRESSIVE
            ),
            replace_compute_environment=False,
            update_to_latest_image_version=True,
        )
        self.job_queue = batch.JobQueue(
            self,
            "Queue",
            compute_environments=[
                batch.OrderedComputeEnvironment(compute_environment=self.compute_environment, order=1)
            ],
        )

        self.image = ecr_assets.DockerImageAsset(
            self,
            "WorkerImage",
            directory=str(cfg.gpu_build_context),
            file=cfg.gpu_dockerfile,
            exclude=docker_excludes(dockerfile),
            ignore_mode=IgnoreMode.DOCKER,
            platform=ecr_assets.Platform.LINUX_AMD64,  # g5/g6 instances are x86_64
        )
        self.job_role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="storyreel GPU worker: runs/ objects and the run table only",
        )
        storage.grant_objects(self.job_role, read=(RUNS,), write=(RUNS,))
        storage.grant_table(self.job_role)
        model_bucket, _, model_prefix = cfg.gpu_model_uri[len("s3://") :].partition("/")
        model_prefix = model_prefix.strip("/")
        self.model_bucket = s3.Bucket.from_bucket_name(self, "ModelBucket", model_bucket)
        self.job_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[self.model_bucket.arn_for_objects(f"{model_prefix}/*" if model_prefix else "*")],
            )
        )
        self.job_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.model_bucket.bucket_arn],
                conditions=(
                    {"StringLike": {"s3:prefix": [model_prefix, f"{model_prefix}/*"]}}
                    if model_prefix
                    else None
                ),
            )
        )
        self.job_logs = log_group(self, "JobLogs", cfg)
        self.job_definition = batch.EcsJobDefinition(
            self,
            "Job",
            container=batch.EcsEc2ContainerDefinition(
                self,
                "Container",
                image=ecs.ContainerImage.from_docker_image_asset(self.image),
                cpu=4,
                memory=Size.gibibytes(15),
                gpu=1,
                job_role=self.job_role,
                environment={
                    "STORYREEL_BUCKET": storage.bucket.bucket_name,
                    "STORYREEL_TABLE": storage.table.table_name,
                    "STORYREEL_IMAGE_GENERATION__PROVIDER": "diffusers",
                    "STORYREEL_IMAGE_GENERATION__MODEL": cfg.gpu_model_uri,
                    **{
                        k: v
                        for k, v in cfg.settings_env().items()
                        if k != "STORYREEL_IMAGE_GENERATION__PROVIDER"
                    },
                },
                logging=ecs.LogDriver.aws_logs(stream_prefix="gpu", log_group=self.job_logs),
            ),
            retry_attempts=3,
            retry_strategies=[
                # the worker's exit codes: 75 temporary, 143 interrupted -> retry; anything else -> stop
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.custom(on_exit_code="75")),
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.custom(on_exit_code="143")),
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
                batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom(on_exit_code="*")),
            ],
            timeout=Duration.hours(1),
        )
