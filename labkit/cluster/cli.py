"""`labkit cluster serve`: the local cluster in the foreground, for exploring with kubectl or the Python client."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cluster serve`."""
    cluster = sub.add_parser("cluster", help="labkit's local Kubernetes API stand-in")
    verbs = cluster.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("serve", help="serve the API on 127.0.0.1 until Ctrl-C; writes a kubeconfig")
    p.add_argument("--dir", help="where to write the kubeconfig, logs and pod output (default: a run directory)")
    p.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    """`labkit cluster serve`: run the local cluster in the foreground until Ctrl-C or SIGTERM."""
    from ..kube.kubectl import find_kubectl
    from ..paths import write_private
    from .server import start_cluster

    root = Path(args.dir).resolve() if args.dir else None
    if root:
        # 0711: the files in it are private (the kubeconfig 0600, the run directory 0700), but a
        # database pod's unprivileged server account must pass through to its own directory
        root.mkdir(mode=0o711, parents=True, exist_ok=True)
        os.chmod(root, 0o711)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    from ..runtime import Run  # here, not at the top: every labkit command builds this parser

    with Run("cluster", root=root) as run:
        cluster = start_cluster(run)
        kubeconfig = cluster.kubeconfig
        if root:
            kubeconfig = root / "kubeconfig"
            write_private(kubeconfig, cluster.kubeconfig.read_text())
        kubectl = find_kubectl()
        print(f"API:        {cluster.url}")
        print(f"kubeconfig: {kubeconfig}")
        print("            (mode 0600: it holds the bearer token every request needs)")
        print(f"pod output: {run.logs}")
        print(f"kubectl:    KUBECONFIG={kubeconfig} {kubectl.path if kubectl else 'kubectl'} get pods")
        print("Python:     kubernetes.config.load_kube_config(config_file=...)  - Ctrl-C stops every pod", flush=True)
        done.wait()
        print("stopping pods ...", flush=True)
    return 0
