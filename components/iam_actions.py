"""Which IAM actions read ECR and which write ECR or IAM; no dependencies, so the policy pack can use it."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

#: What Codefresh needs to pull and inspect images.
ECR_READ_REQUIRED = ("ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")

ECR_WRITE = (
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "ecr:BatchDeleteImage",
    "ecr:SetRepositoryPolicy",
    "ecr:DeleteRepositoryPolicy",
    "ecr:PutLifecyclePolicy",
    "ecr:DeleteLifecyclePolicy",
    "ecr:PutImageTagMutability",
    "ecr:PutImageScanningConfiguration",
    "ecr:PutRegistryPolicy",
    "ecr:PutReplicationConfiguration",
    "ecr:TagResource",
    "ecr:UntagResource",
)

IAM_WRITE = (
    "iam:AttachRolePolicy",
    "iam:CreateAccessKey",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:CreateRole",
    "iam:CreateUser",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PassRole",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
)


def allowed_actions(documents: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every action pattern an `Allow` statement grants, across ``documents``."""
    actions: list[str] = []
    for document in documents:
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect") == "Allow":
                value = statement.get("Action", [])
                actions += value if isinstance(value, list) else [value]
    return actions


def grants(patterns: Iterable[str], action: str) -> bool:
    """Whether any (wildcard) pattern matches ``action``; IAM matches case-insensitively."""
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


def write_actions(documents: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ECR and IAM write actions the documents grant (through wildcards too)."""
    patterns = allowed_actions(documents)
    return [action for action in (*ECR_WRITE, *IAM_WRITE) if grants(patterns, action)]
