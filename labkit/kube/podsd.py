"""Pod discovery for a Prometheus built without Kubernetes service discovery (Debian's is).

Serves Prometheus' HTTP service discovery format from the Kubernetes API (the official
client, any cluster): one target per pod and declared container port, labelled with the
same ``__meta_kubernetes_pod_*`` labels ``kubernetes_sd_configs`` (role: pod) gives, so a
config's relabel rules work unchanged. Prometheus still scrapes through the API server
itself, with the kubeconfig's credentials; only the listing of pods comes from here.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any

from kubernetes import client

from ..httpserver import QuietHTTPServer
from ..runtime import Run
from ..waiting import LOCALHOST

_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def _name(key: str) -> str:
    return _INVALID.sub("_", key)


def pod_targets(pod) -> list[dict[str, Any]]:
    """The target groups kubernetes_sd_configs (role: pod) makes for one pod."""
    meta, spec, status = pod.metadata, pod.spec, pod.status
    ready = any(c.type == "Ready" and c.status == "True" for c in (status.conditions or []))
    labels = {"__meta_kubernetes_namespace": meta.namespace, "__meta_kubernetes_pod_name": meta.name,
              "__meta_kubernetes_pod_ip": status.pod_ip or "", "__meta_kubernetes_pod_phase": status.phase or "",
              "__meta_kubernetes_pod_ready": str(ready).lower(), "__meta_kubernetes_pod_uid": meta.uid or "",
              "__meta_kubernetes_pod_node_name": spec.node_name or "", "__meta_kubernetes_pod_host_ip":
              status.host_ip or ""}
    for key, value in (meta.labels or {}).items():
        labels[f"__meta_kubernetes_pod_label_{_name(key)}"] = value
        labels[f"__meta_kubernetes_pod_labelpresent_{_name(key)}"] = "true"
    for key, value in (meta.annotations or {}).items():
        labels[f"__meta_kubernetes_pod_annotation_{_name(key)}"] = value
        labels[f"__meta_kubernetes_pod_annotationpresent_{_name(key)}"] = "true"
    groups = []
    for c in spec.containers:
        for p in c.ports or [None]:
            extra = {"__meta_kubernetes_pod_container_name": c.name}
            address = status.pod_ip or ""
            if p is not None:
                address = f"{address}:{p.container_port}"
                extra |= {"__meta_kubernetes_pod_container_port_number": str(p.container_port),
                          "__meta_kubernetes_pod_container_port_name": p.name or "",
                          "__meta_kubernetes_pod_container_port_protocol": p.protocol or "TCP"}
            groups.append({"targets": [address], "labels": labels | extra})
    return groups


class PodDiscovery:
    """GET /targets?namespace=NS on 127.0.0.1: the pods of NS as Prometheus HTTP SD target groups."""

    def __init__(self, run: Run, api_client):
        core = client.CoreV1Api(api_client)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                try:
                    pods = core.list_namespaced_pod(query.get("namespace", ["default"])[0], _request_timeout=10).items
                    body, code = json.dumps([g for p in pods if p.status for g in pod_targets(p)]).encode(), 200
                except Exception as err:  # Prometheus keeps its last good list and logs this
                    body, code = json.dumps({"error": str(err)}).encode(), 502
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = QuietHTTPServer((LOCALHOST, 0), Handler, run.dir / "pod-discovery-errors.log")
        self.url = f"http://{LOCALHOST}:{self.server.server_address[1]}"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="pod-discovery", daemon=True)
        self.thread.start()
        run.add_cleanup("pod discovery", self.stop)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
