"""Start and stop moto server (with the trust shim) on a free loopback port, IAM enforcement on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3

from ..stackfile import PROJECT_DIR
from .ports import free_port, wait_for_port

#: Requests moto serves before it enforces IAM: exactly the admin bootstrap below.
BOOTSTRAP_CALLS = 3
SANDBOX_ACCOUNT = "123456789012"
ADMIN_POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


@dataclass(frozen=True)
class Emulator:
    endpoint: str
    access_key: str
    secret_key: str
    region: str

    def session(self) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key, region_name=self.region
        )


@contextmanager
def moto_server(region: str) -> Iterator[Emulator]:
    """A fresh emulator and an admin identity in it; the server is stopped whatever happens."""
    port = free_port()
    env = {
        **os.environ,
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
        "INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_CALLS),
        "PYTHONPATH": str(PROJECT_DIR),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "components.sandbox.motoshim", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        endpoint = f"http://127.0.0.1:{port}"
        iam = boto3.client(
            "iam", endpoint_url=endpoint, region_name=region, aws_access_key_id="bootstrap", aws_secret_access_key="x"
        )
        iam.create_user(UserName="sandbox-admin")
        iam.put_user_policy(UserName="sandbox-admin", PolicyName="admin", PolicyDocument=ADMIN_POLICY)
        key = iam.create_access_key(UserName="sandbox-admin")["AccessKey"]
        yield Emulator(endpoint, key["AccessKeyId"], key["SecretAccessKey"], region)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
