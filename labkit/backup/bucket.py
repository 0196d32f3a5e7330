"""Lab 06's S3 bucket: created and tagged for the lab; on real AWS emptied and deleted with its run."""

from __future__ import annotations

import secrets

from ..aws import AwsTarget
from ..runtime import Run

LAB_TAG = {"Key": "labkit:lab", "Value": "06-backup-restore"}


def make_bucket(target: AwsTarget, run: Run) -> str:
    """A bucket of the lab's own, tagged; on real AWS it is emptied and deleted with the run."""
    s3 = target.client("s3")
    name = f"labkit-backups-{secrets.token_hex(4)}"
    config = {} if target.region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": target.region}}
    s3.create_bucket(Bucket=name, **config)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [LAB_TAG]})

    def remove() -> None:  # only the lab's own bucket, and only what is in it
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=obj["Key"])
        s3.delete_bucket(Bucket=name)

    if target.backend == "aws":
        run.add_cleanup("the lab's S3 bucket", remove)
    return name
