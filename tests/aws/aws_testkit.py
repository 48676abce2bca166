"""The tests' name for testkit/aws.py (the AWS test kit, shared with bench/): pytest puts this folder on
sys.path, so `from aws_testkit import ...` reads the kit."""

from testkit.aws import *  # noqa: F403
