"""The local cluster, driven with the official kubernetes client only."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from conftest import cluster_serve, stop_serve
from kubernetes import client
from kubernetes import config as kube_config
from kubernetes.client.exceptions import ApiException

from labkit.cluster import start_cluster
from labkit.cluster.tls import client_context
from labkit.kube import rollout
from labkit.kube.rollout import RolloutTimeout
from labkit.runtime import Run
from labkit.waiting import port_is_listening

NS = "default"


@pytest.fixture
def cluster():
    with Run("test-cluster") as run:
        c = start_cluster(run, restart_backoff=(0.2, 1.0))
        yield c
        ports = [p for r in c.pods.values() for p in r.ports.values()]
        ports += [listener.port for listener in c.services.listeners.values()]
    assert not port_is_listening(int(c.url.rsplit(":", 1)[1]))
    for port in ports:
        assert not port_is_listening(port)


def wait_for(probe, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def apis(cluster):
    api = cluster.api_client()
    return api, client.CoreV1Api(api), client.AppsV1Api(api)


def tiny(name="tiny", replicas=3, env=None, probe=True, extra=None, containers=None, annotations=None):
    container = {"name": "web", "image": "labkit/tiny-http", "ports": [{"containerPort": 8080}],
                 "env": [{"name": "SHOW_ENV", "value": "K"}, *(env or [])], **(extra or {})}
    if probe:
        container["readinessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1}
    return {"metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}, "annotations": annotations or {}},
                                  "spec": {"terminationGracePeriodSeconds": 2,
                                           "containers": [container, *(containers or [])]}}}}


def raw(cluster, method: str, path: str, body=None, token: str | None = "cluster"):
    """One request with the cluster's token (or another, or none); the raw response."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {cluster.token if token == 'cluster' else token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(cluster.url + path, data=data, headers=headers, method=method)
    try:
        return urllib.request.urlopen(request, timeout=10, context=client_context(cluster.ca_file))
    except urllib.error.HTTPError as err:
        return err


SECRET_ENV = [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "s", "key": "K"}}}]


def env_of(core, pod) -> dict:
    status, body = rollout.proxy_get(core.api_client, pod, 8080, "env", NS)
    if status != 200:
        raise ApiException(status=status)
    return json.loads(body)


def test_a_deployment_becomes_ready_and_the_pod_proxy_reaches_it(cluster):
    api, core, apps = apis(cluster)
    created = apps.create_namespaced_deployment(NS, tiny())
    assert isinstance(created, client.V1Deployment) and created.metadata.generation == 1
    assert created.metadata.uid and isinstance(created.metadata.resource_version, str)
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    pods = rollout.ready_pods(api, "tiny", NS)
    assert len(pods) == 3
    assert all(p.metadata.owner_references[0].kind == "ReplicaSet" for p in pods)
    status, body = rollout.proxy_get(api, pods[0].metadata.name, 8080, "healthz", NS)
    assert status == 200 and json.loads(body) == {"ok": True}
    # the plain client call parses the body into a str; the path is percent-encoded on the wire
    assert "ok" in core.connect_get_namespaced_pod_proxy_with_path(f"{pods[0].metadata.name}:8080", NS, "healthz")
    deploy = apps.read_namespaced_deployment("tiny", NS)
    assert {c.type for c in deploy.status.conditions} == {"Available", "Progressing"}
    assert deploy.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    rs = apps.list_namespaced_replica_set(NS, label_selector="app=tiny").items
    assert len(rs) == 1 and rs[0].metadata.labels["pod-template-hash"]


def test_a_rolling_restart_replaces_pods_one_at_a_time_and_new_pods_read_the_new_secret(cluster):
    api, core, apps = apis(cluster)
    core.create_namespaced_secret(NS, {"metadata": {"name": "s"}, "stringData": {"K": "old"}})
    apps.create_namespaced_deployment(NS, tiny(env=SECRET_ENV))
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    old_pods = {p.metadata.name for p in rollout.ready_pods(api, "tiny", NS)}
    core.patch_namespaced_secret("s", NS, {"stringData": {"K": "new"}})
    # a pod reads its Secret at start: the running ones still have the old value
    assert {env_of(core, p)["K"] for p in old_pods} == {"old"}
    samples, stop = [], threading.Event()

    old_env = []  # what each old pod answered while the rollout ran; asserted below, not in the thread

    def sample():
        while not stop.is_set():
            pods = rollout.ready_pods(api, "tiny", NS)
            samples.append(pods)
            for p in pods:
                if p.metadata.name in old_pods:
                    try:
                        old_env.append(env_of(core, p.metadata.name)["K"])
                    except ApiException:
                        pass  # terminating between listing and asking
            time.sleep(0.05)

    watcher = threading.Thread(target=sample)
    watcher.start()
    rollout.restart(api, "tiny", NS)
    rollout.wait_rollout(api, "tiny", NS, timeout=60)
    stop.set()
    watcher.join(timeout=10)
    assert not watcher.is_alive()
    assert old_env and set(old_env) == {"old"}  # running pods keep the Secret they started with
    # 3 replicas, 25 % / 25 %: surge 1, unavailable 0 - never fewer than 3 Ready, never more than 4 pods
    assert min(len(s) for s in samples) >= 3
    assert max(len(s) for s in samples) <= 4
    new_pods = rollout.ready_pods(api, "tiny", NS)
    assert not ({p.metadata.name for p in new_pods} & old_pods)
    assert {env_of(core, p.metadata.name)["K"] for p in new_pods} == {"new"}
    assert [r.revision for r in rollout.history(api, "tiny", NS)] == [1, 2]


def test_a_strategic_merge_patch_of_one_env_var_keeps_the_other_containers_and_variables(cluster):
    api, core, apps = apis(cluster)
    sidecar = {"name": "side", "image": "labkit/tiny-http", "ports": [{"containerPort": 9090}],
               "env": [{"name": "X", "value": "1"}]}
    apps.create_namespaced_deployment(NS, tiny(replicas=1, containers=[sidecar],
                                               env=[{"name": "A", "value": "a"}, {"name": "B", "value": "b"}]))
    apps.patch_namespaced_deployment("tiny", NS, {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "env": [{"name": "B", "value": "b2"}]}]}}}})
    spec = apps.read_namespaced_deployment("tiny", NS).spec.template.spec
    assert [c.name for c in spec.containers] == ["web", "side"]
    assert [(e.name, e.value) for e in spec.containers[0].env] == [("SHOW_ENV", "K"), ("A", "a"), ("B", "b2")]
    assert spec.containers[1].env[0].value == "1" and spec.containers[0].image == "labkit/tiny-http"
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    (pod,) = rollout.ready_pods(api, "tiny", NS)
    assert len(pod.status.container_statuses) == 2


def test_a_crashing_container_is_restarted_with_backoff_and_its_previous_log_is_readable(cluster):
    api, core, apps = apis(cluster)
    apps.create_namespaced_deployment(NS, tiny(replicas=1, probe=False,
                                               env=[{"name": "CRASH_AFTER_S", "value": "0.3"}]))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(NS, label_selector="app=tiny").items
        if pods and pods[0].status.container_statuses and pods[0].status.container_statuses[0].restart_count >= 2:
            break
        time.sleep(0.1)
    status = pods[0].status.container_statuses[0]
    assert status.restart_count >= 2 and status.last_state.terminated.exit_code == 3
    previous = core.read_namespaced_pod_log(pods[0].metadata.name, NS, previous=True)
    assert "crashing on purpose" in previous


def test_a_pod_that_never_gets_ready_makes_rollout_status_time_out_naming_it(cluster):
    api, core, apps = apis(cluster)
    apps.create_namespaced_deployment(NS, tiny(replicas=1, env=[{"name": "NOT_READY", "value": "1"}]))
    with pytest.raises(RolloutTimeout) as err:
        rollout.wait_rollout(api, "tiny", NS, timeout=3)
    (pod,) = core.list_namespaced_pod(NS, label_selector="app=tiny").items
    assert pod.metadata.name in str(err.value)


def test_undo_restores_the_previous_template_as_the_next_revision(cluster):
    api, core, apps = apis(cluster)
    apps.create_namespaced_deployment(NS, tiny(replicas=2, env=[{"name": "V", "value": "1"}]))
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    apps.patch_namespaced_deployment("tiny", NS, {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "env": [{"name": "V", "value": "2"}]}]}}}})
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    first, second = rollout.history(api, "tiny", NS)
    assert rollout.undo(api, "tiny", NS) == 1
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    history = rollout.history(api, "tiny", NS)
    assert [(r.revision, r.replicaset) for r in history] == [(2, second.replicaset), (3, first.replicaset)]
    assert {r.replicaset: r.replicas for r in history} == {second.replicaset: 0, first.replicaset: 2}
    env = apps.read_namespaced_deployment("tiny", NS).spec.template.spec.containers[0].env
    assert [e.value for e in env if e.name == "V"] == ["1"]


def test_an_injected_fault_answers_its_status_then_requests_succeed_again(cluster):
    _, core, _ = apis(cluster)
    core.create_namespaced_secret(NS, {"metadata": {"name": "s"}, "stringData": {"K": "v"}})
    cluster.inject_fault("PATCH", f"/api/v1/namespaces/{NS}/secrets/s", 500, count=2)
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            core.patch_namespaced_secret("s", NS, {"stringData": {"K": "w"}})
        assert err.value.status == 500 and json.loads(err.value.body)["kind"] == "Status"
    assert core.read_namespaced_secret("s", NS).data["K"] == "dg=="  # base64 of "v": nothing changed
    core.patch_namespaced_secret("s", NS, {"stringData": {"K": "w"}})
    assert core.read_namespaced_secret("s", NS).data["K"] == "dw=="


@pytest.mark.parametrize("body, field", [
    ({"metadata": {"name": "x"}, "spec": {"template": {}}}, "spec.selector"),
    ({"metadata": {"name": "x"}, "spec": {"selector": {"matchLabels": {"app": "x"}},
                                          "template": {"metadata": {"labels": {"app": "y"}},
                                                       "spec": {"containers": [{"name": "c", "image": "i"}]}}}},
     "spec.template.metadata.labels"),
    ({"metadata": {"name": "x"}, "spec": {"selector": {"matchLabels": {"app": "x"}},
                                          "template": {"metadata": {"labels": {"app": "x"}},
                                                       "spec": {"containers": [{"image": "i"}]}}}},
     "spec.template.spec.containers[0].name"),
    ({"metadata": {"name": "x"}, "spec": {"selector": {"matchLabels": {"app": "x"}},
                                          "template": {"metadata": {"labels": {"app": "x"}}, "spec": {
                                              "containers": [{"name": "c", "image": "i",
                                                              "ports": [{"containerPort": 0}]}]}}}},
     "spec.template.spec.containers[0].ports[0].containerPort"),
    ({"metadata": {"name": "Not_A_Name"}, "spec": {}}, "metadata.name"),
])
def test_an_invalid_object_is_answered_422_naming_the_field(cluster, body, field):
    resp = raw(cluster, "POST", f"/apis/apps/v1/namespaces/{NS}/deployments", body)
    assert resp.status == 422
    status = json.loads(resp.read())
    assert status["kind"] == "Status" and status["details"]["causes"][0]["field"] == field


def test_a_value_of_the_wrong_json_type_is_a_400_as_the_decoder_answers(cluster):
    body = {"metadata": {"name": "x"}, "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": "80"}]}]}}}}
    resp = raw(cluster, "POST", f"/apis/apps/v1/namespaces/{NS}/deployments", body)
    status = json.loads(resp.read())
    assert resp.status == 400 and status["reason"] == "BadRequest"
    assert "spec.template.spec.containers[0].ports[0].containerPort" in status["message"]


def test_unknown_paths_and_methods_get_status_answers(cluster):
    api, core, _ = apis(cluster)
    resp = raw(cluster, "GET", f"/api/v1/namespaces/{NS}/persistentvolumeclaims")
    assert resp.status == 404 and json.loads(resp.read())["reason"] == "NotFound"
    resp = raw(cluster, "PUT", f"/api/v1/namespaces/{NS}/pods")
    assert resp.status == 405 and json.loads(resp.read())["kind"] == "Status"
    with pytest.raises(ApiException) as err:
        core.read_namespaced_secret("nope", NS)
    assert err.value.status == 404


def test_deleting_a_pod_marks_it_unready_then_it_is_replaced(cluster):
    api, core, apps = apis(cluster)
    apps.create_namespaced_deployment(NS, tiny(replicas=1))
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    (pod,) = rollout.ready_pods(api, "tiny", NS)
    deleted = core.delete_namespaced_pod(pod.metadata.name, NS)
    assert deleted.metadata.deletion_timestamp is not None
    assert pod.metadata.name not in {p.metadata.name for p in rollout.ready_pods(api, "tiny", NS)}
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    deadline = time.monotonic() + 10
    while pod.metadata.name in {p.metadata.name for p in core.list_namespaced_pod(NS).items}:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert len(rollout.ready_pods(api, "tiny", NS)) == 1


def test_the_kubeconfig_works_with_the_official_loader(cluster):
    api = kube_config.new_client_from_config(config_file=str(cluster.kubeconfig))
    assert client.CoreV1Api(api).list_namespaced_secret(NS).items == []


def test_prometheus_discovers_the_pods_through_the_api_and_scrapes_them_through_the_pod_proxy(cluster):
    from labkit.paths import LABS
    from labkit.prometheus import find_prometheus, start_kubernetes_prometheus

    try:
        find_prometheus()
    except Exception:
        pytest.skip("prometheus is not installed (make system installs it)")
    api, _, apps = apis(cluster)
    apps.create_namespaced_deployment(NS, tiny(replicas=2, annotations={"prometheus.io/scrape": "true",
                                                                        "prometheus.io/port": "8080"}))
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    prom = start_kubernetes_prometheus(cluster.run, LABS / "05-canary-rollback" / "prometheus" / "prometheus.yml",
                                       api)
    prom.wait_for_data('count(tiny_requests_total{app="tiny",namespace="default"}) == 2', timeout=30)
    pods = {r["metric"]["pod"] for r in prom.query('tiny_requests_total{app="tiny"}')}
    assert pods == {p.metadata.name for p in rollout.ready_pods(api, "tiny", NS)}


def test_cluster_serve_runs_in_the_foreground_and_stops_every_pod_on_sigterm(tmp_path):
    with cluster_serve(tmp_path) as (proc, kubeconfig):
        api = kube_config.new_client_from_config(config_file=str(kubeconfig))
        apps = client.AppsV1Api(api)
        apps.create_namespaced_deployment(NS, tiny(replicas=1))
        rollout.wait_rollout(api, "tiny", NS, timeout=30)
        (pod,) = rollout.ready_pods(api, "tiny", NS)
        assert rollout.proxy_get(api, pod.metadata.name, 8080, "healthz", NS)[0] == 200
        assert stop_serve(proc) == 0
    from labkit.cleanup import iter_runs, leftover_processes

    (run_dir, _), = list(iter_runs(tmp_path))
    assert leftover_processes(run_dir) == []


@pytest.mark.parametrize("path", [
    "/api/v1/namespaces/default/pods",                       # a list
    "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1",  # a watch
    "/api/v1/namespaces/default/pods/{pod}/log",             # logs
    "/api/v1/namespaces/default/pods/{pod}:8080/proxy/env",  # the pod proxy
    "/api/v1/namespaces/default/pods/{pod}/exec?command=printenv&stdout=true",  # exec
    "/api", "/apis/apps/v1", "/openapi/v3",                  # discovery and OpenAPI
])
def test_every_resource_path_needs_the_clusters_token(cluster, path):
    api, _, apps = apis(cluster)
    apps.create_namespaced_deployment(NS, tiny(replicas=1))
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    (pod,) = rollout.ready_pods(api, "tiny", NS)
    path = path.format(pod=pod.metadata.name)
    for token in (None, "wrong-" + cluster.token[6:], cluster.token[:-1]):
        resp = raw(cluster, "GET", path, token=token)
        assert resp.status == 401
        body = json.loads(resp.read())
        assert (body["kind"], body["reason"], body["code"]) == ("Status", "Unauthorized", 401)
    resp = raw(cluster, "GET", path)
    # with the token: served (exec without a WebSocket upgrade is a 400 that names the protocol)
    assert resp.status == (400 if "/exec" in path else 200)


def test_version_and_health_answer_without_a_token_and_files_are_private(cluster):
    for path in ("/version", "/healthz", "/livez", "/readyz"):
        assert raw(cluster, "GET", path, token=None).status == 200
    assert json.loads(raw(cluster, "GET", "/version", token=None).read())["major"] == "1"
    assert cluster.kubeconfig.stat().st_mode & 0o777 == 0o600
    assert cluster.kubeconfig.parent.stat().st_mode & 0o777 == 0o700
    assert cluster.run.dir.stat().st_mode & 0o077 in (0, 0o010)  # 0700, or 0710 for PostgreSQL's own group
    config = json.loads(cluster.kubeconfig.read_text())
    assert config["users"][0]["user"]["token"] == cluster.token
    assert config["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")


def test_cluster_serve_dir_is_private(tmp_path):
    target = tmp_path / "k"
    with cluster_serve(target) as (proc, kubeconfig):
        assert kubeconfig.stat().st_mode & 0o777 == 0o600
        assert target.stat().st_mode & 0o777 == 0o711  # passable (a database pod's own account), not listable
        (run_dir,) = [d for d in target.iterdir() if d.is_dir()]
        assert run_dir.stat().st_mode & 0o077 in (0, 0o010)
        assert stop_serve(proc) == 0


# -- Services ----------------------------------------------------------------------------------------

def service(name="tiny", port=80, target="http", selector=None):
    return {"metadata": {"name": name}, "spec": {"selector": selector or {"app": name},
                                                 "ports": [{"name": "http", "port": port, "targetPort": target}]}}


def named_port(deploy: dict) -> dict:
    deploy["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"] = "http"
    return deploy


def bound(port: int) -> bool:
    """Something holds 127.0.0.1:port."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def local_port(core, name: str) -> int:
    svc = core.read_namespaced_service(name, NS)
    return json.loads(svc.metadata.annotations["labkit.dev/ports"])["80"]


def test_a_service_balances_over_its_ready_pods_and_drops_one_that_leaves_ready(cluster, tmp_path):
    api, core, apps = apis(cluster)
    core.create_namespaced_service(NS, service())
    ready = tmp_path / "ready"
    ready.touch()
    apps.create_namespaced_deployment(NS, named_port(tiny(replicas=2, env=[{"name": "READY_FILE",
                                                                             "value": str(ready)}])))
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    pods = {p.metadata.name for p in rollout.ready_pods(api, "tiny", NS)}
    wait_for(lambda: len(core.read_namespaced_endpoints("tiny", NS).subsets[0].addresses or []) == 2)
    ep = core.read_namespaced_endpoints("tiny", NS).subsets[0]
    assert {a.target_ref.name for a in ep.addresses} == pods and ep.ports[0].port == 8080
    port = local_port(core, "tiny")
    seen = {json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/x", timeout=5).read())["pod"]
            for _ in range(6)}
    assert seen == pods  # round robin over both endpoints
    via_proxy = core.connect_get_namespaced_service_proxy_with_path("tiny:http", NS, "x", _preload_content=False)
    assert json.loads(via_proxy.data)["pod"] in pods
    ready.unlink()  # both pods fail their probe: no endpoints, the Service refuses
    wait_for(lambda: not (core.read_namespaced_endpoints("tiny", NS).subsets or [None])[0]
             or not core.read_namespaced_endpoints("tiny", NS).subsets[0].addresses)
    assert {a.target_ref.name for a in core.read_namespaced_endpoints("tiny", NS).subsets[0].not_ready_addresses} \
        == pods
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/x", timeout=5).read()
    resp = raw(cluster, "GET", f"/api/v1/namespaces/{NS}/services/tiny:http/proxy/x")
    body = json.loads(resp.read())
    assert resp.status == 503 and body["kind"] == "Status" and "no endpoints" in body["message"]


def test_pods_started_after_a_service_get_its_variables_and_env_values_expand_them(cluster):
    api, core, apps = apis(cluster)
    core.create_namespaced_service(NS, service("my-db", target=5432, selector={"app": "nothing"}))
    wait_for(lambda: (core.read_namespaced_service("my-db", NS).metadata.annotations or {}).get("labkit.dev/ports"))
    port = local_port(core, "my-db")
    env = [{"name": "SHOW_ENV", "value": "MY_DB_SERVICE_HOST,MY_DB_SERVICE_PORT,MY_DB_SERVICE_PORT_HTTP,URL,LIT"},
           {"name": "URL", "value": "db://$(MY_DB_SERVICE_HOST):$(MY_DB_SERVICE_PORT)/$(UNDEFINED)"},
           {"name": "LIT", "value": "$$(MY_DB_SERVICE_HOST)"}]
    apps.create_namespaced_deployment(NS, tiny(replicas=1, extra={"env": env}))
    rollout.wait_rollout(api, "tiny", NS, timeout=30)
    (pod,) = rollout.ready_pods(api, "tiny", NS)
    got = json.loads(rollout.proxy_get(api, pod.metadata.name, 8080, "env", NS)[1])
    assert got == {"MY_DB_SERVICE_HOST": "127.0.0.1", "MY_DB_SERVICE_PORT": str(port),
                   "MY_DB_SERVICE_PORT_HTTP": str(port), "URL": f"db://127.0.0.1:{port}/$(UNDEFINED)",
                   "LIT": "$(MY_DB_SERVICE_HOST)"}


def test_a_service_without_ports_is_refused_and_deleting_one_closes_its_port(cluster):
    _, core, _ = apis(cluster)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service(NS, {"metadata": {"name": "bad"}, "spec": {"selector": {"a": "b"}}})
    assert err.value.status == 422 and "spec.ports" in err.value.body
    core.create_namespaced_service(NS, service())
    wait_for(lambda: (core.read_namespaced_service("tiny", NS).metadata.annotations or {}).get("labkit.dev/ports"))
    port = local_port(core, "tiny")
    assert bound(port)  # (with no endpoints it resets each connection, as kube-proxy rejects it)
    deleted = core.delete_namespaced_service("tiny", NS)
    assert deleted.metadata.name == "tiny"
    wait_for(lambda: not bound(port))
    wait_for(lambda: not core.list_namespaced_endpoints(NS).items)  # its Endpoints went with it


def test_the_postgres_image_refuses_to_start_without_a_password_and_says_why(cluster):
    api, core, apps = apis(cluster)
    db = {"metadata": {"name": "db"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "db"}},
          "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [
              {"name": "postgres", "image": "postgres:16", "ports": [{"containerPort": 5432}],
               "env": [{"name": "POSTGRES_HOST_AUTH_METHOD", "value": "trust"}]}]}}}}
    apps.create_namespaced_deployment(NS, db)

    def restarted() -> bool:
        pods = core.list_namespaced_pod(NS, label_selector="app=db").items
        return bool(pods) and (pods[0].status.container_statuses or [None])[0] is not None \
            and pods[0].status.container_statuses[0].restart_count >= 1

    wait_for(restarted, timeout=30)
    (pod,) = core.list_namespaced_pod(NS, label_selector="app=db").items
    log = core.read_namespaced_pod_log(pod.metadata.name, NS, previous=True)
    assert "trust is refused" in log and "Traceback" not in log


def test_a_startup_probe_holds_back_readiness_and_a_failing_liveness_probe_restarts_the_container(cluster):
    api, core, apps = apis(cluster)
    exec_probe = {"periodSeconds": 1, "failureThreshold": 2}
    extra = {"startupProbe": {"exec": {"command": ["test", "-f", "warmed-up"]}, "periodSeconds": 1,
                              "failureThreshold": 60},
             "livenessProbe": {"exec": {"command": ["test", "!", "-f", "wedged"]}, **exec_probe}}
    apps.create_namespaced_deployment(NS, tiny(replicas=1, extra=extra))
    wait_for(lambda: core.list_namespaced_pod(NS, label_selector="app=tiny").items)
    pod = core.list_namespaced_pod(NS, label_selector="app=tiny").items[0].metadata.name
    root = cluster.run.dir / "pods" / f"{NS}.{pod}" / "web"

    def status():
        return core.read_namespaced_pod(pod, NS).status.container_statuses[0]

    wait_for(lambda: status().state.running is not None)
    time.sleep(2.5)  # the startup probe has failed twice: not started, not Ready, not restarted
    s = status()
    assert (s.started, s.ready, s.restart_count) == (False, False, 0)
    (root / "warmed-up").write_text("")
    wait_for(lambda: status().ready)
    assert status().started is True
    (root / "wedged").write_text("")  # liveness fails twice: the kubelet kills and restarts the container
    wait_for(lambda: status().restart_count == 1)
    (root / "wedged").unlink()
    s = status()
    assert s.last_state.terminated.exit_code in (143, 137)  # SIGTERM (or SIGKILL after the grace period)
    wait_for(lambda: status().ready)
    reasons = [e.message for e in core.list_namespaced_event(NS).items if e.involved_object.name == pod]
    assert any("Startup probe failed" in m for m in reasons)
    assert any("failed liveness probe, will be restarted" in m for m in reasons)


@pytest.mark.parametrize("probe, field", [
    ({"livenessProbe": {"exec": {"command": ["true"]}, "successThreshold": 2}}, "livenessProbe.successThreshold"),
    ({"startupProbe": {"periodSeconds": 1}}, "startupProbe"),
    ({"readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 0}}, "readinessProbe.periodSeconds"),
])
def test_when_a_probe_is_malformed_then_422_names_the_field(cluster, probe, field):
    _api, _core, apps = apis(cluster)
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment(NS, tiny(replicas=1, probe=False, extra=probe))
    assert err.value.status == 422 and field in err.value.body


# -- fuzz: objects with a wrong type anywhere get a 4xx Status; the server keeps serving -------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=6), inner, max_size=2),
    max_leaves=6)
FUZZ_PATHS = [
    ("metadata",), ("metadata", "name"), ("metadata", "labels"), ("metadata", "annotations"), ("spec",),
    ("spec", "selector"), ("spec", "selector", "matchLabels"), ("spec", "template"),
    ("spec", "template", "metadata", "labels"), ("spec", "template", "spec"),
    ("spec", "template", "spec", "containers"), ("spec", "template", "spec", "containers", 0),
    ("spec", "template", "spec", "containers", 0, "name"), ("spec", "template", "spec", "containers", 0, "image"),
    ("spec", "template", "spec", "containers", 0, "env"), ("spec", "template", "spec", "containers", 0, "ports"),
    ("spec", "template", "spec", "containers", 0, "readinessProbe"), ("spec", "strategy"),
    ("spec", "template", "spec", "volumes"), ("spec", "template", "spec", "terminationGracePeriodSeconds"),
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(FUZZ_PATHS), value=FUZZ_VALUES, kind=st.sampled_from(["deployments", "services"]))
def test_fuzz_an_object_with_any_value_anywhere_gets_a_4xx_status_and_the_server_keeps_serving(cluster, path, value,
                                                                                               kind):
    if kind == "deployments":
        obj = tiny(name="fuzz", replicas=0)
        url = f"/apis/apps/v1/namespaces/{NS}/deployments"
    else:
        obj = {"metadata": {"name": "fuzz"}, "spec": {"selector": {"app": "fuzz"}, "ports": [{"port": 80}]}}
        path = path[:2] if path[0] == "metadata" else ("spec",) + tuple(p for p in path[1:2] if p != "template")
        url = f"/api/v1/namespaces/{NS}/services"
    target = obj
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target[key]
    target[path[-1]] = value
    resp = raw(cluster, "POST", url, obj)
    body = json.loads(resp.read() or b"{}")
    assert resp.status in (201, 400, 409, 422), (resp.status, body)
    if resp.status >= 400:
        assert body.get("kind") == "Status" and body.get("code") == resp.status and body.get("message")
    else:
        raw(cluster, "DELETE", f"{url}/{body['metadata']['name']}")
    assert raw(cluster, "GET", "/readyz", token=None).status == 200


def test_a_watch_from_a_listed_version_hears_of_a_delete_that_came_before_the_watch(cluster):
    """kubectl delete --wait lists, then watches from the list's version; an object deleted in
    between must still arrive as DELETED (it hung kubectl 1.31 for its whole --timeout)."""
    _api, core, _ = apis(cluster)
    core.create_namespaced_config_map(NS, {"metadata": {"name": "gone"}, "data": {"k": "v"}})
    listed = core.list_namespaced_config_map(NS, field_selector="metadata.name=gone")
    assert [c.metadata.name for c in listed.items] == ["gone"]
    core.delete_namespaced_config_map("gone", NS)
    resp = raw(cluster, "GET", f"/api/v1/namespaces/{NS}/configmaps?watch=true&fieldSelector=metadata.name%3Dgone"
                               f"&resourceVersion={listed.metadata.resource_version}&timeoutSeconds=2")
    events = [json.loads(line) for line in resp.read().splitlines() if line.strip()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("DELETED", "gone")]


def test_when_the_run_is_stopping_a_crash_looping_pod_shuts_down_without_printing(monkeypatch):
    """Between Run.stop() beginning and the cluster's own clean-up, a pod may try to restart a
    container; the run refuses, and the pod thread must end quietly - not print a traceback into
    the notebook cell (one CI run: Lab 05's clean-up cell)."""
    seen = []
    monkeypatch.setattr(threading, "excepthook", seen.append)
    with Run("test-cluster") as run:
        c = start_cluster(run, restart_backoff=(0.05, 0.1))
        client.CoreV1Api(c.api_client()).create_namespaced_pod(NS, {
            "metadata": {"name": "crash"}, "spec": {"containers": [{"name": "c", "image": "x", "command": ["false"]}]}})
        wait_for(lambda: c.runtime(NS, "crash") is not None and c.runtime(NS, "crash").containers[0].restarts >= 2)
        pod = c.runtime(NS, "crash")
        run.stopped = True  # the moment the run starts stopping, before the cluster's clean-up has run
        try:
            wait_for(pod.finished.is_set, timeout=10)
        finally:
            run.stopped = False
    assert seen == []


def test_a_container_a_liveness_probe_gives_up_on_is_not_ready_during_its_grace_period(cluster):
    """The kubelet marks it not Ready at the kill, not when the process finally exits."""
    _, core, _ = apis(cluster)
    stubborn = "trap '' TERM; while :; do sleep 0.1; done"  # ignores SIGTERM: lives out its grace period
    core.create_namespaced_pod(NS, {"metadata": {"name": "stubborn"}, "spec": {
        "terminationGracePeriodSeconds": 30, "containers": [{
            "name": "c", "image": "x", "command": ["sh", "-c", stubborn],
            "livenessProbe": {"exec": {"command": ["test", "!", "-f", "wedged"]}, "periodSeconds": 1,
                              "failureThreshold": 1}}]}})

    def status():
        return core.read_namespaced_pod("stubborn", NS).status.container_statuses[0]

    wait_for(lambda: status().ready)
    (cluster.run.dir / "pods" / f"{NS}.stubborn" / "c" / "wedged").write_text("")
    wait_for(lambda: not status().ready, timeout=5)
    assert status().state.running is not None and status().restart_count == 0  # still in its grace period
    core.delete_namespaced_pod("stubborn", NS, grace_period_seconds=0)
