"""Choosing a lab's AWS side: the embedded endpoint, or real AWS only with an explicit opt-in."""

from __future__ import annotations

import pytest

from labkit.aws import AwsTarget, open_backend
from labkit.errors import InputError
from labkit.runtime import Run


def test_a_lab_that_changes_real_resources_needs_the_opt_in(tmp_path):
    with Run("t", root=tmp_path) as run:
        with pytest.raises(InputError, match="allow_real_changes"):
            open_backend(run, "aws", changes="creates groups")
        target, endpoint = open_backend(run, "aws", changes="creates groups", allow_real_changes=True)
        assert (target.backend, endpoint) == ("aws", None)
        read_only, _ = open_backend(run, "aws")  # a read-only lab (Lab 01) needs none
        assert read_only.endpoint_url is None


def test_the_local_backend_starts_the_embedded_endpoint_and_bad_names_are_errors(tmp_path):
    with Run("t", root=tmp_path) as run:
        target, endpoint = open_backend(run, "local")
        assert target.endpoint_url == endpoint.url and endpoint.port
        with pytest.raises(InputError, match="unknown AWS backend"):
            open_backend(run, "azure")
    with pytest.raises(InputError):
        AwsTarget("local")  # the local backend needs an endpoint
