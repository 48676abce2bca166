"""Storage: the blob bucket (runs/ and uploads/), its access-log bucket, and the single DynamoDB table."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import InfraConfig
from infra.functions import RUNS, UPLOADS

NONCURRENT_DAYS = 30  # how long an overwritten or deleted blob stays recoverable


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, cfg: InfraConfig) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if cfg.retain_data else RemovalPolicy.DESTROY

        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(90))],
            removal_policy=removal,
            auto_delete_objects=False,
        )
        self.bucket = s3.Bucket(
            self,
            "Blobs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # storyboards and frames are paid-for renders: an overwrite or a delete (a bug, a wrong CLI call)
            # stays recoverable for NONCURRENT_DAYS; older versions and dangling delete markers expire
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="blobs/",
            cors=[
                # browser uploads with the presigned PUT URL from POST /runs
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.GET],
                    allowed_origins=["*"],
                    allowed_headers=["*"],
                    max_age=3000,
                )
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-uploads",
                    prefix=UPLOADS,
                    expiration=Duration.days(cfg.uploads_expire_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-old-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_DAYS),
                    expired_object_delete_marker=True,
                ),
                s3.LifecycleRule(
                    id="runs-to-infrequent-access",
                    prefix=RUNS,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(30),
                        )
                    ],
                ),
            ],
            removal_policy=removal,
        )
        # Object Created -> default bus -> intake rule. Set natively on AWS::S3::Bucket rather than with
        # `event_bridge_enabled=True`, which deploys a custom-resource Lambda to write the same setting.
        cfn_bucket = self.bucket.node.default_child
        if not isinstance(cfn_bucket, s3.CfnBucket):
            raise TypeError(f"{self.bucket.node.path}: no AWS::S3::Bucket to enable EventBridge on")
        cfn_bucket.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )

        # single table: RUN#<id>, CACHE#<hash> (with ttl), POLICY#<name>; gsi1 lists runs by time
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            time_to_live_attribute="ttl",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name="gsi1",
                    partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
                    sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
                )
            ],
            removal_policy=removal,
        )

    # ---- least-privilege grants (explicit actions, no wildcards in actions)
    def grant_objects(
        self,
        grantee: iam.IGrantable,
        read: tuple[str, ...] = (),
        write: tuple[str, ...] = (),
        delete: tuple[str, ...] = (),
    ) -> None:
        """GetObject on `read`, PutObject on `write`, DeleteObject on `delete` prefixes; ListBucket limited
        to those prefixes."""
        for action, prefixes_of in (
            ("s3:GetObject", read),
            ("s3:PutObject", write),
            ("s3:DeleteObject", delete),
        ):
            if prefixes_of:
                grantee.grant_principal.add_to_principal_policy(
                    iam.PolicyStatement(
                        actions=[action],
                        resources=[self.bucket.arn_for_objects(f"{p}*") for p in prefixes_of],
                    )
                )
        prefixes = sorted(set(read) | set(write) | set(delete))
        if prefixes:
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[self.bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
                )
            )

    def grant_table(self, grantee: iam.IGrantable) -> None:
        self.table.grant_read_write_data(grantee)
