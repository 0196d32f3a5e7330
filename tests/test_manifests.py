"""The labs' YAML is what runs: valid against the official schemas, and applied by the real kubectl
to a fresh `labkit cluster serve`, every Deployment becomes Available."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from conftest import cluster_serve, stop_serve

from labkit.kube import manifests
from labkit.kube.kubectl import find_kubectl
from labkit.paths import LABS

FOLDERS = sorted(LABS.glob("*/k8s"))
# every manifest, operator folders (CRDs: PodMonitor) included
FILES = sorted(p for f in FOLDERS for p in f.rglob("*.yaml"))
VERSIONS = ("1.31.0", kubernetes_validate.latest_version())


def test_there_are_manifests_for_labs_04_and_05():
    assert {f.parent.name for f in FOLDERS} >= {"04-secrets-rotation", "05-canary-rollback"}
    for folder in FOLDERS:  # kubectl apply -f k8s/ must find only Kubernetes objects there
        assert all(p.suffix == ".yaml" for p in folder.iterdir() if p.is_file()), folder


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LABS)))
def test_every_manifest_validates_against_the_official_schema(path: Path, version: str):
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc:
            continue
        if "/operator/" in str(path):  # a CRD (PodMonitor): no built-in schema, check its shape
            assert doc["apiVersion"].startswith("monitoring.coreos.com/") and doc["spec"]["selector"]
            continue
        kubernetes_validate.validate(doc, version, strict=True)  # raises ValidationError naming the field


def test_the_validator_rejects_a_field_that_does_not_exist():
    doc = manifests.find(manifests.read(LABS / "04-secrets-rotation" / "k8s"), "Deployment", "myapp")
    broken = json.loads(json.dumps(doc))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}  # a typo kubectl would catch
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def kubectl(kubeconfig: Path, *args: str, timeout: float = 120) -> str:
    found = find_kubectl()
    assert found is not None, "kubectl is installed by make setup"
    done = subprocess.run([found.path, "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


@pytest.mark.parametrize("lab", ["04-secrets-rotation", "05-canary-rollback"])
def test_kubectl_apply_of_a_labs_folder_brings_every_deployment_up(tmp_path, lab):
    folder = LABS / lab / "k8s"
    with cluster_serve(tmp_path / "k") as (proc, kubeconfig):
        kubectl(kubeconfig, "apply", "-f", str(folder))
        names = [d["metadata"]["name"] for d in manifests.read(folder) if d["kind"] == "Deployment"]
        for name in names:
            kubectl(kubeconfig, "wait", "--for=condition=Available", f"deployment/{name}", "--timeout=90s")
            kubectl(kubeconfig, "rollout", "status", f"deployment/{name}", "--timeout=90s")
        table = kubectl(kubeconfig, "get", "svc,endpoints")
        assert "ClusterIP" in table and "80/TCP" in table and "127.0.0.1:8080" in table, table
        services = json.loads(kubectl(kubeconfig, "get", "endpoints", "-o", "json"))["items"]
        for ep in services:  # every Service has its Ready pods as endpoints
            assert any(s.get("addresses") for s in ep.get("subsets") or []), ep["metadata"]["name"]
        if lab == "04-secrets-rotation":  # the app reaches PostgreSQL through the postgres Service
            deadline = time.monotonic() + 30
            while True:
                done = subprocess.run([find_kubectl().path, "--kubeconfig", str(kubeconfig), "get", "--raw",
                                       "/api/v1/namespaces/default/services/myapp:http/proxy/healthz/db"],
                                      capture_output=True, text=True, timeout=30)
                if done.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert done.returncode == 0 and json.loads(done.stdout)["ok"] is True, done.stderr
            count = subprocess.run([find_kubectl().path, "--kubeconfig", str(kubeconfig), "exec", "-i",
                                    "deploy/postgres", "--", "sh", "-c",
                                    'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U postgres -d appdb -At'],
                                   input="SELECT count(*) FROM orders;", capture_output=True, text=True, timeout=60)
            assert count.stdout.strip() == "100", count.stderr
        assert stop_serve(proc) == 0


def test_apply_creates_then_patches_refuses_a_leftover_when_asked_and_deletes_what_it_made(tmp_path):
    from labkit.cluster import open_cluster
    from labkit.errors import InputError, LabkitError
    from labkit.runtime import Run

    with pytest.raises(InputError, match="no \\*.yaml manifests"):
        manifests.read(tmp_path)
    objects = manifests.read(LABS / "05-canary-rollback" / "k8s")
    with pytest.raises(LabkitError, match="no keys"):
        manifests.set_secret(manifests.read(LABS / "04-secrets-rotation" / "k8s"), "db-credentials", {"nope": "x"})
    with Run("test-manifests") as run:
        cluster = open_cluster(run, "local")
        created: list[dict] = []
        lines = manifests.apply(cluster.api_client, objects[:1], existing="fail", created=created)
        assert lines == ["service/myapp-stable created"] and created == objects[:1]
        assert manifests.apply(cluster.api_client, objects[:2]) == ["service/myapp-stable configured",
                                                                     "service/myapp-canary created"]
        created = []
        with pytest.raises(LabkitError, match="already exists .* kubectl delete -f"):
            manifests.apply(cluster.api_client, objects, existing="fail", created=created)
        assert created == []  # the first object already existed: nothing of this call to clean up
        manifests.delete(cluster.api_client, objects)  # what is missing is fine
        from kubernetes import client

        assert client.CoreV1Api(cluster.api_client).list_namespaced_service("default").items == []
