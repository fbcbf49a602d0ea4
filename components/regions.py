"""AWS regions and partitions, taken from botocore's endpoint data rather than a hand-kept list."""

from __future__ import annotations

import functools

import botocore.session

#: Partitions this project supports; the isolated ones have no ECR integration in Codefresh.
SUPPORTED_PARTITIONS: tuple[str, ...] = ("aws", "aws-cn", "aws-us-gov")


@functools.cache
def region_partitions() -> dict[str, str]:
    """Map every region that offers ECR to its partition (cached: botocore loads JSON each call)."""
    session = botocore.session.get_session()
    return {
        region: partition
        for partition in SUPPORTED_PARTITIONS
        for region in session.get_available_regions("ecr", partition)
    }


def partition_of(region: str) -> str | None:
    """The partition of ``region``, or None when it is not a known ECR region."""
    return region_partitions().get(region)
