"""The AWS side of every lab: an embedded endpoint on 127.0.0.1, or real AWS.

Lab code asks :class:`AwsTarget` for boto3 clients and never knows which one it got:
``backend="local"`` points at moto's threaded server (started here on a free port),
``backend="aws"`` uses a named profile and region.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from .errors import ComponentError, InputError, LabkitError
from .runtime import Run
from .waiting import LOCALHOST, http_probe, wait_until

BACKENDS = ("local", "aws")
# Static credentials for the embedded endpoint: moto accepts any, real AWS none of these.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class EmbeddedAWS:
    """moto's threaded server on 127.0.0.1 and a free port, stopped with its run."""

    def __init__(self, run: Run | None = None):
        self.run = run
        self._server: Any = None
        self.url = ""

    def start(self, timeout: float = 20.0) -> EmbeddedAWS:
        """Start the server and wait until it answers HTTP."""
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request at INFO; a notebook should not show that.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=LOCALHOST, port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        # the dashboard page (10 kB), not data.json: that dumps every backend (6 MB, over a
        # second under load - longer than the probe waits, so it never passed)
        wait_until(http_probe(f"{self.url}/moto-api/"), timeout=timeout, what="embedded AWS")
        # moto keeps its backends per process: a new endpoint in the same process must
        # not see what an earlier one was given.
        self.reset()
        if self.run is not None:
            self.run.add_cleanup("embedded AWS", self.stop)
        return self

    @property
    def port(self) -> int:
        """The port the embedded endpoint listens on (0 before it starts)."""
        return int(self.url.rsplit(":", 1)[1]) if self.url else 0

    def stop(self) -> None:
        """Stop the server and release its port."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _post(self, path: str, body: dict | None = None) -> int:
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(
            self.url + path, data=data, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status
        except OSError as err:
            raise ComponentError(f"embedded AWS at {self.url} did not answer {path}: {err}") from None

    def reset(self) -> None:
        """Forget every resource and every seeded answer (moto's /moto-api/reset)."""
        self._post("/moto-api/reset")

    def seed_cost_and_usage(self, responses: list[dict]) -> None:
        """Queue full GetCostAndUsage responses; each distinct request takes the next one."""
        self._post("/moto-api/static/ce/cost-and-usage-results", {"results": responses})

    def target(self, region: str = "us-east-1") -> AwsTarget:
        """An AwsTarget that points at this endpoint."""
        return AwsTarget(backend="local", endpoint_url=self.url, region=region)

    def __enter__(self) -> EmbeddedAWS:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class AwsTarget:
    """Where AWS calls go: the embedded endpoint (or any endpoint URL) or a real account."""

    backend: str = "local"
    endpoint_url: str | None = None
    region: str = "us-east-1"
    profile: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise InputError(f"unknown AWS backend {self.backend!r}: use one of {', '.join(BACKENDS)}")
        if self.backend == "local" and not self.endpoint_url:
            raise InputError("the local AWS backend needs an endpoint URL (start EmbeddedAWS)")

    @classmethod
    def at(cls, endpoint_url: str | None, region: str = "us-east-1", profile: str | None = None) -> AwsTarget:
        """What a CLI's --endpoint-url / --region / --profile mean: the endpoint when one is given
        (the local backend), else real AWS."""
        return cls("local" if endpoint_url else "aws", endpoint_url, region, profile)

    def session(self) -> boto3.Session:
        """A boto3 session with the right credentials for this target."""
        try:
            if self.profile:
                return boto3.Session(profile_name=self.profile, region_name=self.region)
            if self.backend == "local":
                return boto3.Session(region_name=self.region, **LOCAL_CREDENTIALS)
            return boto3.Session(region_name=self.region)
        except botocore.exceptions.ProfileNotFound:
            raise InputError(f"AWS profile {self.profile!r} is not configured") from None

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for service, with bounded retries and timeouts."""
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)
        return self.session().client(
            service, region_name=region or self.region, endpoint_url=self.endpoint_url, config=config
        )

    def describe(self) -> str:
        """One line saying where calls go (for notebook output)."""
        if self.backend == "local" or self.endpoint_url:
            return f"endpoint {self.endpoint_url} (region {self.region})"
        return f"real AWS, profile {self.profile or '(default chain)'}, region {self.region}"


def explain_aws_error(err: Exception, action: str) -> LabkitError:
    """Turn a botocore error into a one-line LabkitError naming the action."""
    if isinstance(err, botocore.exceptions.NoCredentialsError):
        return LabkitError(f"{action}: no AWS credentials found (set a profile or run on the local backend)")
    if isinstance(err, botocore.exceptions.EndpointConnectionError):
        return ComponentError(f"{action}: cannot reach the endpoint ({err.kwargs.get('endpoint_url', '?')})")
    if isinstance(err, botocore.exceptions.ClientError):
        code = err.response.get("Error", {}).get("Code", "?")
        msg = err.response.get("Error", {}).get("Message", "")
        return LabkitError(f"{action}: AWS said {code}: {msg}".rstrip(": "))
    if isinstance(err, botocore.exceptions.BotoCoreError):
        return LabkitError(f"{action}: {err}")
    return LabkitError(f"{action}: {err}")


def caller_identity(target: AwsTarget) -> dict[str, str]:
    """sts:GetCallerIdentity for target: proves the credentials work."""
    try:
        ident = target.client("sts").get_caller_identity()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
        raise explain_aws_error(err, "sts:GetCallerIdentity") from None
    return {"account": ident["Account"], "arn": ident["Arn"]}


def open_backend(run: Run, backend: str, region: str = "us-east-1", profile: str | None = None,
                 changes: str | None = None, allow_real_changes: bool = False) -> tuple[AwsTarget, EmbeddedAWS | None]:
    """A lab's AWS side: the embedded endpoint (local) or a real account.

    A lab that changes real resources says what in `changes`; on real AWS it then needs
    the explicit opt-in, and it only ever touches what it created and tagged."""
    if backend == "local":
        endpoint = EmbeddedAWS(run).start()
        return endpoint.target(region), endpoint
    if backend == "aws":
        if changes and not allow_real_changes:
            raise InputError(f"the aws backend {changes}: set allow_real_changes=True "
                             "(only the lab's own tagged resources are touched)")
        return AwsTarget("aws", None, region, profile), None
    raise InputError(f"unknown AWS backend {backend!r}: use local or aws")
