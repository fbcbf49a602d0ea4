"""CrossGuard entry point: `pulumi preview --policy-pack policy` (the pack's rules live in rules.py)."""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import POLICIES

PolicyPack(name="ecr-gitops", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
